"""A channel's burst of calls waits for slots instead of being cancelled by grpc.aio."""

from __future__ import annotations

import asyncio
from collections import Counter

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from common.call_slots import call_slot_interceptors

BURST = 3_000  # well past where grpc.aio starts cancelling calls of one channel


async def test_a_burst_of_calls_all_reach_the_server() -> None:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", interceptors=call_slot_interceptors()
        ) as channel:
            stub = health_pb2_grpc.HealthStub(channel)

            async def check() -> str:
                try:
                    await stub.Check(health_pb2.HealthCheckRequest(), timeout=30)
                except grpc.aio.AioRpcError as exc:
                    return exc.code().name
                return "OK"

            async def watch() -> str:
                stream = stub.Watch(health_pb2.HealthCheckRequest(), timeout=30)
                first = await anext(aiter(stream))
                stream.cancel()
                return str(health_pb2.HealthCheckResponse.ServingStatus.Name(first.status))

            outcomes = Counter(await asyncio.gather(*(check() for _ in range(BURST))))
            assert outcomes == {"OK": BURST}
            # Streams hold a slot only until they are under way: more than the slots can be open.
            streams = Counter(await asyncio.gather(*(watch() for _ in range(600))))
            assert streams == {"SERVING": 600}
    finally:
        await server.stop(0)

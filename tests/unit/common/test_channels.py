"""Calls between services wait for a service that starts late instead of failing at once, and
are balanced over a service's replicas that are up."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from common.mesh_auth import MeshCredentials
from common.server import channel_target, insecure_channel
from deploy.local import free_port


async def test_a_call_waits_for_a_server_that_comes_up_within_its_deadline() -> None:
    port = free_port()
    channel = insecure_channel(f"127.0.0.1:{port}", MeshCredentials(b"mesh secret"))
    stub = health_pb2_grpc.HealthStub(channel)
    # Nothing listens yet: the channel fails to connect and backs off before trying again.
    with pytest.raises(grpc.aio.AioRpcError) as early:
        await stub.Check(health_pb2.HealthCheckRequest(), timeout=0.3)
    assert early.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await channel.close()
        await server.stop(None)


async def test_calls_are_spread_over_the_replicas_that_report_serving() -> None:
    servers, healths, addresses = [], [], []
    for name in ("a", "b"):
        server, health_servicer = grpc.aio.server(), health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        # Each replica knows a service name of its own: the answer says who served the call.
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        address = f"127.0.0.1:{free_port()}"
        server.add_insecure_port(address)
        await server.start()
        servers.append(server)
        healths.append(health_servicer)
        addresses.append(address)
    channel = insecure_channel(",".join(addresses), MeshCredentials(b"mesh secret"))
    stub = health_pb2_grpc.HealthStub(channel)

    async def served_by_a(calls: int) -> list[bool]:
        answers = []
        for _ in range(calls):
            try:
                await stub.Check(health_pb2.HealthCheckRequest(service="a"), timeout=5)
                answers.append(True)
            except grpc.aio.AioRpcError as exc:
                answers.append(False)
                if exc.code() is not grpc.StatusCode.NOT_FOUND:  # "b" does not know "a"
                    raise
        return answers

    def before(deadline: float) -> bool:
        return asyncio.get_running_loop().time() < deadline

    try:
        deadline = asyncio.get_running_loop().time() + 10
        while len(set(await served_by_a(4))) < 2:  # until both replicas are connected
            assert before(deadline), "calls went to one replica only"
        assert sorted(await served_by_a(20)) == [False] * 10 + [True] * 10  # in turn
        await healths[0].set("", health_pb2.HealthCheckResponse.NOT_SERVING)  # "a" stops
        while any(await served_by_a(10)):  # the channel learns it from "a"'s health watch
            assert before(deadline + 10), "calls still go to a replica that is not serving"
    finally:
        await channel.close()
        for server in servers:
            await server.stop(None)


def test_a_list_of_replicas_becomes_one_balanced_target() -> None:
    assert channel_target("127.0.0.1:1") == "127.0.0.1:1"
    assert channel_target("127.0.0.1:1, 127.0.0.2:2") == "ipv4:127.0.0.1:1,127.0.0.2:2"
    assert channel_target("dns:///graph:50051") == "dns:///graph:50051"
    with pytest.raises(ValueError, match="dns:///"):
        channel_target("graph-1:50051,graph-2:50051")

"""The floor under every mesh hop: CPU per unary grpc.aio call on each side, with nothing in
the handler, on this machine. A feed read makes three such calls (gateway -> feed_svc,
feed_svc -> graph_svc, feed_svc -> post_svc), so three times the sum is the least a read
can cost in the mesh before any work of its own.

    python -m tests.bench.grpc_floor [--calls 20000] [--in-flight 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import grpc

from deploy.local import free_port
from tests.bench.cpu import process_cpu_seconds
from tests.bench.vegeta import serving_module

METHOD = "/bench.Echo/Call"
PAYLOAD = b"x" * 200
WARM_UP = 200


async def serve(port: int) -> None:
    async def echo(request: bytes, context: Any) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Call": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


async def call(port: int, calls: int, in_flight: int) -> float:
    """Client CPU microseconds per call, `in_flight` calls at a time."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(METHOD)
        for _ in range(WARM_UP):  # connected and warm
            await echo(PAYLOAD)
        started = time.process_time()

        async def worker(count: int) -> None:
            for _ in range(count):
                await echo(PAYLOAD, metadata=(("x-photoshare-user-id", "7"),))

        await asyncio.gather(*(worker(calls // in_flight) for _ in range(in_flight)))
        return (time.process_time() - started) / calls * 1e6


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        asyncio.run(serve(int(argv[1])))
        return 0
    parser = argparse.ArgumentParser(prog="python -m tests.bench.grpc_floor", description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args(argv)
    port = free_port()
    with serving_module("tests.bench.grpc_floor", "serve", str(port)) as server:
        before = process_cpu_seconds(server)
        client_us = asyncio.run(call(port, args.calls, args.in_flight))
        served = args.calls + WARM_UP
        server_us = (process_cpu_seconds(server) - before) / served * 1e6
    total = client_us + server_us
    print(
        f"per unary call: client {client_us:.0f} us, server {server_us:.0f} us of CPU; "
        f"three hops: {3 * total / 1000:.2f} ms per feed read"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

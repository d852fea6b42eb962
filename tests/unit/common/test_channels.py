"""Calls between services wait for a service that starts late instead of failing at once."""

from __future__ import annotations

import socket

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from common.mesh_auth import MeshCredentials
from common.server import insecure_channel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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

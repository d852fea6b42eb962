"""Domain errors become status codes with details; bugs become a bare INTERNAL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from common import errors
from common.rpc_errors import ErrorMappingInterceptor, from_rpc_error, to_status


class Failing(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def Check(self, request: health_pb2.HealthCheckRequest, context: object) -> None:
        raise self.error

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: object
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        yield health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        raise self.error


async def call_with(error: Exception) -> tuple[grpc.aio.AioRpcError, grpc.aio.AioRpcError]:
    server = grpc.aio.server(interceptors=[ErrorMappingInterceptor()])
    health_pb2_grpc.add_HealthServicer_to_server(Failing(error), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as unary:
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as stream:
                async for _ in stub.Watch(health_pb2.HealthCheckRequest(), timeout=5):
                    pass
        return unary.value, stream.value
    finally:
        await server.stop(None)


async def test_domain_errors_keep_code_message_reason_and_field() -> None:
    error = errors.InvalidArgument("limit must be at most 100", reason="LIMIT", field="limit")
    for failure in await call_with(error):
        assert failure.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert failure.details() == "limit must be at most 100"
        back = from_rpc_error(failure, service="test")
        assert isinstance(back, errors.InvalidArgument)
        assert (back.reason, back.field) == ("LIMIT", "limit")


async def test_unexpected_exceptions_are_hidden_behind_internal() -> None:
    for failure in await call_with(RuntimeError("secret table name")):
        assert failure.code() is grpc.StatusCode.INTERNAL
        assert failure.details() == "internal error"


def test_an_error_echoing_a_huge_input_is_cut_to_fit_the_trailers() -> None:
    huge = "x" * 20_000
    error = errors.NotFound(f"no user is named {huge}", metadata={"username": huge}, field=huge)
    status = to_status(error)
    # gRPC's default limit on trailers is 8 KiB; binary trailers travel base64-encoded.
    trailer = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert len(trailer) * 4 / 3 < 4_096
    assert len(status.details) <= 1_000


async def test_a_stream_written_with_context_write_passes_through() -> None:
    """The health service's Watch writes instead of yielding; balancing clients call it."""
    server = grpc.aio.server(interceptors=[ErrorMappingInterceptor()])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
            first = await watch.read()
            assert first.status == health_pb2.HealthCheckResponse.SERVING
            watch.cancel()
    finally:
        await server.stop(None)

"""gRPC metrics of both sides of every call, as go-grpc-prometheus counts them: started,
handled by status code, and the time to handle, per service and method.

py-grpc-prometheus has synchronous interceptors only; these are for grpc.aio.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import grpc

from common.metrics import Metrics
from common.rpc_errors import WrappingInterceptor

# go-grpc-prometheus labels codes with Go's names (codes.Code.String()).
GO_CODE_NAMES = {
    grpc.StatusCode.OK: "OK",
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}
Behavior = Callable[[Any, Any], Any]


def split_method(full_method: str) -> tuple[str, str]:
    """'/photoshare.feed.v1.FeedService/GetHomeFeed' -> (service, method)."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


def _code_name(code: Any) -> str:
    return GO_CODE_NAMES.get(code, "OK") if isinstance(code, grpc.StatusCode) else "OK"


class ServerMetricsInterceptor(WrappingInterceptor):
    """The outermost interceptor of a server: it sees the code the client gets, after domain
    errors were mapped to statuses."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics

    def wrap(self, handler: Any, full_method: str) -> Any:
        service, method = split_method(full_method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, ("unary", service, method)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream and inspect.isasyncgenfunction(handler.unary_stream):
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, ("server_stream", service, method)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:  # writes with context.write (the health service's Watch)
            return grpc.unary_stream_rpc_method_handler(
                self._unary(handler.unary_stream, ("server_stream", service, method)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _unary(self, behavior: Behavior, labels: tuple[str, str, str]) -> Behavior:
        async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            with self._handled(labels, context):
                return await behavior(request, context)

        return call

    def _stream(self, behavior: Behavior, labels: tuple[str, str, str]) -> Behavior:
        sent = self._metrics.grpc_server_msg_sent.labels(*labels)

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            with self._handled(labels, context):
                async for response in behavior(request, context):
                    sent.inc()
                    yield response

        return call

    @contextlib.contextmanager
    def _handled(
        self, labels: tuple[str, str, str], context: grpc.aio.ServicerContext[Any, Any]
    ) -> Iterator[None]:
        """Counts one call as started, then as handled with the code it ended with."""
        metrics = self._metrics
        metrics.grpc_server_started.labels(*labels).inc()
        began = time.perf_counter()
        code = "Unknown"
        try:
            yield
            code = _code_name(context.code())
        except grpc.aio.AbortError:
            code = _code_name(context.code())
            raise
        except (asyncio.CancelledError, GeneratorExit):  # the client went away
            code = "Canceled"
            raise
        finally:
            metrics.grpc_server_handling.labels(*labels).observe(time.perf_counter() - began)
            metrics.grpc_server_handled.labels(*labels, code).inc()


class _ClientMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._pending: set[asyncio.Task[None]] = set()

    def _begin(
        self, kind: str, details: grpc.aio.ClientCallDetails
    ) -> tuple[tuple[str, str, str], float]:
        """The call's labels, counted as started, and when it began."""
        method = details.method
        labels = (kind, *split_method(method.decode() if isinstance(method, bytes) else method))
        self._metrics.grpc_client_started.labels(*labels).inc()
        return labels, time.perf_counter()

    def _done(self, labels: tuple[str, str, str], began: float, code: Any) -> None:
        self._metrics.grpc_client_handling.labels(*labels).observe(time.perf_counter() - began)
        self._metrics.grpc_client_handled.labels(*labels, _code_name(code)).inc()


class UnaryClientMetrics(_ClientMetrics, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        labels, began = self._begin("unary", client_call_details)
        call = await continuation(client_call_details, request)
        # A unary call's status comes with its reply: waiting for it here delays nobody.
        self._done(labels, began, await call.code())
        return call


class StreamClientMetrics(_ClientMetrics, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        labels, began = self._begin("server_stream", client_call_details)
        call = await continuation(client_call_details, request)
        # The caller reads the stream; its status is counted when it ends.
        task = asyncio.create_task(self._when_done(call, labels, began))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return call

    async def _when_done(self, call: Any, labels: tuple[str, str, str], began: float) -> None:
        self._done(labels, began, await call.code())


def client_interceptors(metrics: Metrics) -> list[grpc.aio.ClientInterceptor]:
    return [UnaryClientMetrics(metrics), StreamClientMetrics(metrics)]

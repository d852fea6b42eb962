"""Domain errors <-> gRPC status with google.rpc details, on both sides of a call."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from common import errors
from common.http import error_body

log = logging.getLogger(__name__)
T = TypeVar("T")


# gRPC trailers are limited (8 KiB by default): an error that echoes what a client sent must
# not carry all of it, or the answer itself fails.
MAX_MESSAGE_CHARS = 1000
MAX_METADATA_CHARS = 200


def to_status(error: errors.PhotoshareError) -> grpc.Status:
    code = grpc.StatusCode[error.code]
    message = _cut(error.message, MAX_MESSAGE_CHARS)
    metadata = {k: _cut(v, MAX_METADATA_CHARS) for k, v in error.metadata.items()}
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=errors.ERROR_DOMAIN, metadata=metadata
    )
    details = [_pack(info)]
    if error.field:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=_cut(error.field, MAX_METADATA_CHARS), description=message
        )
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
    status = status_pb2.Status(code=code.value[0], message=message, details=details)
    result: grpc.Status = rpc_status.to_status(status)
    return result


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


async def answer(call: Awaitable[T], *, service: str) -> T:
    """The reply of a unary call to another service; its failure as a domain error."""
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        raise from_rpc_error(exc, service=service) from exc


def from_rpc_error(error: grpc.aio.AioRpcError, *, service: str) -> errors.PhotoshareError:
    """What a failed call to another service means to the caller's own domain code."""
    code = error.code()
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return errors.Unavailable(
            f"{service} is unavailable, try again", reason="UPSTREAM_UNAVAILABLE"
        )
    cls = errors.error_class_for(code.name)
    if cls is None:
        return errors.Unavailable(f"{service} failed", reason="UPSTREAM_FAILED")
    reason, field = None, None
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field = bad.field_violations[0].field if bad.field_violations else None
    return cls(error.details() or "", reason=reason, field=field)


Behavior = Callable[[Any, Any], Any]


class WrappingInterceptor(grpc.aio.ServerInterceptor):
    """A server interceptor that wraps the handler of each call in `wrap(handler, method)`.

    The interceptors inside it still decide for every call (the credential check answers a
    refusing handler for a call without one), so the handler is asked for every time; only
    wrapping it is saved while a method's handler stays the same object."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[Any, Any]] = {}  # method -> (handler, wrapped)

    def wrap(self, handler: Any, full_method: str) -> Any:
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self.wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped


class ErrorMappingInterceptor(WrappingInterceptor):
    """Turns domain errors into status codes and hides unexpected exceptions behind INTERNAL."""

    def wrap(self, handler: Any, full_method: str) -> Any:
        return _wrap(handler, full_method)


def _wrap(handler: Any, method: str) -> Any:
    if handler is None:
        return handler
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary(handler.unary_unary, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            _wrap_stream(handler.unary_stream, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


def _wrap_unary(behavior: Behavior, method: str) -> Behavior:
    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await behavior(request, context)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as exc:
            await _abort(context, exc, method)

    return call


def _wrap_stream(behavior: Behavior, method: str) -> Behavior:
    if not inspect.isasyncgenfunction(behavior):
        # It writes with `context.write` instead of yielding (the health service's Watch,
        # which clients that balance over replicas call): a coroutine, wrapped as one.
        return _wrap_unary(behavior, method)

    async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        try:
            async for response in behavior(request, context):
                yield response
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as exc:
            await _abort(context, exc, method)

    return call


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: Exception, method: str) -> None:
    if isinstance(exc, errors.PhotoshareError):
        await context.abort_with_status(to_status(exc))
    # A bug, not a user error: log it here once, and tell the caller nothing of its insides.
    log.error("unhandled error in %s", method, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


def http_error_body(exc: grpc.aio.AioRpcError) -> dict[str, Any]:
    """A backend's error in the API's error shape, with its details (ErrorInfo...)."""
    details: list[dict[str, Any]] = []
    status = rpc_status.from_call(exc)
    for detail in status.details if status else ():
        try:
            details.append(json_format.MessageToDict(detail))
        except (json_format.Error, TypeError):
            continue
    code = exc.code()
    message = exc.details() or code.name
    if code is grpc.StatusCode.UNAVAILABLE:
        message = "a backend service is unavailable; try again shortly"
    return error_body(code.name, message, details=details)

"""Server-streaming RPCs as Server-Sent Events (ADR 14): `GET /v1/feed:stream` and the like.

Each message the RPC sends becomes one event: its `id` field is the event's id (a client's
EventSource sends it back as `Last-Event-ID` when it reconnects, and the gateway passes it as
the request's `after`), the oneof field set names the event, and the message's JSON without
the id is its data. A heartbeat comment keeps proxies from closing a quiet stream. An error
is one `error` event in the API's error shape, then the stream ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc
import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse
from google.protobuf.message import Message

from common.rpc_errors import http_error_body
from gateway.json_mapping import JsonMapping

# A comment line this often: proxies and load balancers close connections idle for a minute
# or so, and a dead client is noticed when a write to it fails.
HEARTBEAT_S = 15.0
# How long a browser waits before it reconnects after the stream ended.
RECONNECT_MS = 1_000
# How long a write may wait on a client that does not read (its socket buffer full) before
# the connection is dropped; it reconnects from its last event id.
SEND_TIMEOUT_S = 30.0
# What the access log says of a stream whose client left before it began (nginx's code).
CLIENT_LEFT = 499
# The request field the Last-Event-ID header fills.
RESUME_FIELD = "after"
RESUME_HEADER = "Last-Event-ID"
# Headers a browser's EventSource sends (and, cross-origin, must be allowed to).
REQUEST_HEADERS = (RESUME_HEADER,)


def resume_from(request: web.Request, message: Message) -> None:
    """A reconnecting EventSource's `Last-Event-ID` is where it resumes: it wins over the
    `?after=` of the URL it first opened (which the browser keeps sending)."""
    last_event_id = request.headers.get(RESUME_HEADER, "").strip()
    if last_event_id and RESUME_FIELD in message.DESCRIPTOR.fields_by_name:
        setattr(message, RESUME_FIELD, last_event_id)


class EventStream:
    """Answers one server-streaming call as text/event-stream.

    Example:
        call = channel.unary_stream(path, ...)(message, metadata=metadata)
        return await EventStream(json_mapping).answer(request, call)
    """

    def __init__(self, json: JsonMapping, *, heartbeat_s: float = HEARTBEAT_S) -> None:
        self._json = json
        self._heartbeat_s = heartbeat_s

    async def answer(
        self, request: web.Request, call: grpc.aio.UnaryStreamCall[Any, Any]
    ) -> web.StreamResponse:
        response = EventSourceResponse(ping_interval=self._heartbeat_s, send_timeout=SEND_TIMEOUT_S)
        # The backend's headers come once it registered the stream (or with its error): the
        # client's come after, so one that waits for them misses nothing published later.
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call.initial_metadata()
        if request.transport is None or request.transport.is_closing():
            call.cancel()  # the client left while the stream was being registered
            return web.Response(status=CLIENT_LEFT, reason="Client Closed Request")
        await response.prepare(request)
        pump = asyncio.create_task(self._pump(call, response))
        # The heartbeat ends when a write to the client fails: it left, and the call goes.
        gone = asyncio.create_task(response.wait())
        try:
            await asyncio.wait((pump, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            call.cancel()
            for task in (pump, gone):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, TimeoutError):
                    await task
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write_eof()
        return response

    async def _pump(
        self, call: grpc.aio.UnaryStreamCall[Any, Any], response: EventSourceResponse
    ) -> None:
        # The first event says how long a browser waits before reconnecting after the end.
        retry: int | None = RECONNECT_MS
        try:
            async for message in call:
                event_id = getattr(message, "id", "") or None
                data = self._json.encode(message)
                data.pop("id", None)
                await response.send(
                    orjson.dumps(data).decode(),
                    id=event_id,
                    event=_event_name(message),
                    retry=retry,
                )
                retry = None
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.CANCELLED:
                return
            body = orjson.dumps(http_error_body(exc)).decode()
            await response.send(body, event="error", retry=retry)


def _event_name(message: Message) -> str | None:
    """The JSON name of the oneof field set; None (a plain `message`) without a oneof."""
    for oneof in message.DESCRIPTOR.oneofs:
        field = message.WhichOneof(oneof.name)
        if field is not None:
            return message.DESCRIPTOR.fields_by_name[field].json_name
    return None

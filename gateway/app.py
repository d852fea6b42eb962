"""The aiohttp application: match a route, authenticate, call the service, answer JSON."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestPayloadError
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.cors import CorsPolicy
from common.errors import (
    InvalidArgument,
    MethodNotAllowed,
    NotFound,
    PhotoshareError,
    ResourceExhausted,
    Unauthenticated,
    error_class_for_http_status,
)
from common.http import domain_error_response, error_response
from common.metadata import USER_ID_KEY, as_caller
from common.metrics import Metrics
from common.rpc_errors import http_error_body
from common.tracing import name_current_span
from gateway import streams
from gateway.auth import TokenResolver
from gateway.json_mapping import JsonMapping
from gateway.limits import (
    ADDRESS,
    SIGN_IN_ACCOUNT,
    SIGN_IN_ADDRESS,
    UPLOAD,
    USER,
    Policy,
    RateLimiter,
)
from gateway.openapi import Docs
from gateway.routes import Route
from gateway.transcode import build_request
from gateway.webapp import WebApp

log = logging.getLogger(__name__)
access = logging.getLogger("photoshare.access")

MAX_BODY_BYTES = 1024 * 1024
# Calls that open an upload slot: they draw on the user's upload budget too.
UPLOAD_PATHS = (
    "/photoshare.post.v1.PostService/CreatePost",
    "/photoshare.graph.v1.GraphService/CreateAvatarUpload",
)
# Calls that check a password: each costs the account (and, signing in, the address) a try.
SIGN_IN_PATH = "/photoshare.graph.v1.GraphService/CreateSession"
SET_PASSWORD_PATH = "/photoshare.graph.v1.GraphService/SetPassword"
Metadata = tuple[tuple[str, str], ...]
# A JSON body is at most 1 MiB: one that takes longer than this to arrive is a slow-loris.
BODY_TIMEOUT_S = 10.0
HEALTH_TIMEOUT_S = 1.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a web page may send the API and read of its answers (CORS).
REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", *streams.REQUEST_HEADERS)
EXPOSED_HEADERS = ("Allow", "Retry-After", "RateLimit", "RateLimit-Policy")


def cors_policy(origins: frozenset[str]) -> CorsPolicy:
    """The gateway's CORS: every method the routes use, a bearer token, JSON bodies."""
    return CorsPolicy(
        origins,
        methods=("GET", "POST", "PATCH", "PUT", "DELETE"),
        request_headers=REQUEST_HEADERS,
        exposed_headers=EXPOSED_HEADERS,
    )


class Gateway:
    """Turns REST calls into gRPC calls, one channel per backend service.

    Example:
        gateway = Gateway(
            routes_for(services), channels, TokenResolver(graph_channel, ...), limiter
        )
        web.run_app(gateway.app())
    """

    def __init__(
        self,
        routes: Sequence[Route],
        channels: Mapping[str, grpc.aio.Channel],
        tokens: TokenResolver,
        limits: RateLimiter,
        *,
        timeout_s: float = 5.0,
        cors: CorsPolicy | None = None,
        metrics: Metrics | None = None,
        docs: Docs | None = None,
        web_app: WebApp | None = None,
        traced: Middleware | None = None,
        heartbeat_s: float = streams.HEARTBEAT_S,
    ) -> None:
        """`cors`: which web origins may call (default: none); `metrics`: where requests
        are counted (default: a registry of its own); `docs`: the API's OpenAPI document
        and its page (default: none); `web_app`: the web client served at / (default:
        none); `traced`: puts the requests it records in traces
        (common.tracing.http_middleware; default: none); `heartbeat_s`: how often a quiet
        event stream sends a comment."""
        self._routes = list(routes)
        self._cors = cors or cors_policy(frozenset())
        self._metrics = metrics or Metrics()
        self._docs = docs
        self._web_app = web_app
        self._traced = [traced] if traced is not None else []
        self._channels = channels
        self._tokens = tokens
        self._limits = limits
        self._timeout_s = timeout_s
        self._json = JsonMapping()
        self._calls = {
            route.grpc_path: channels[route.service_name].unary_unary(
                route.grpc_path, **_codec(route)
            )
            for route in self._routes
            if not route.streaming
        }
        self._streams = {
            route.grpc_path: channels[route.service_name].unary_stream(
                route.grpc_path, **_codec(route)
            )
            for route in self._routes
            if route.streaming
        }
        self._event_stream = streams.EventStream(self._json, heartbeat_s=heartbeat_s)

    def app(self) -> web.Application:
        app = web.Application(
            client_max_size=MAX_BODY_BYTES,
            middlewares=[
                *self._traced,
                self._metrics.http_middleware("gateway"),
                _access_log,
                _json_errors,
            ],
        )
        self._cors.install(app)
        app.router.add_get("/healthz", self.healthz)
        if self._docs is not None:
            self._docs.install(app)
        if self._web_app is not None:
            self._web_app.install(app)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        route, params = self._match(request)
        request["route"] = route.template if route is not None else "unmatched"
        if route is not None:
            name_current_span(f"{request.method} {route.template}")  # not one name per id
        if route is None:
            allowed = self._methods_for(request.path)
            if allowed:
                return domain_error_response(
                    MethodNotAllowed(f"{request.method} is not allowed on {request.path}"),
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
            return domain_error_response(NotFound(f"no API at {request.method} {request.path}"))
        try:
            metadata = await self._admit(route, request)
            message = build_request(
                route,
                params,
                request.query,
                await _read_body(request),
                request.headers.get("Idempotency-Key"),
            )
            await self._admit_password_check(route, message, request, metadata)
            if route.streaming:
                streams.resume_from(request, message)
                # No deadline: the stream lasts as long as the client listens.
                call = self._streams[route.grpc_path](message, metadata=metadata)
                return await self._event_stream.answer(request, call)
            response = await self._calls[route.grpc_path](
                message, metadata=metadata, timeout=self._timeout_s
            )
        except _Limited as exc:
            return exc.response
        except PhotoshareError as exc:
            return domain_error_response(exc)
        except grpc.aio.AioRpcError as exc:
            return _rpc_error_response(exc)
        return web.Response(
            body=orjson.dumps(self._json.encode(response)),
            status=202 if route.accepted else 200,
            content_type="application/json",
        )

    async def _admit(self, route: Route, request: web.Request) -> Metadata:
        """Who the call is for, once the limits let it through: a client address has its own
        budget until it authenticates (sign-ups, token guesses), a user theirs after."""
        address = request.remote or "unknown"
        if route.public:
            await self._take(ADDRESS, address)
            return ()
        try:
            user_id, session_id = await self._tokens.caller(request.headers.get("Authorization"))
            request["user_id"] = user_id  # for the access log
        except Unauthenticated:
            await self._take(ADDRESS, address)  # a wrong token costs the address
            raise
        await self._take(USER, str(user_id))
        if route.grpc_path in UPLOAD_PATHS:
            await self._take(UPLOAD, str(user_id))
        return as_caller(user_id, session_id)

    async def _admit_password_check(
        self, route: Route, message: Any, request: web.Request, metadata: Metadata
    ) -> None:
        """Password guesses are slowed per account (whoever guesses) and per address
        (whichever accounts it guesses), before graph_svc spends 0.1 s of Argon2 on them.
        An unknown username costs the same as a known one: the limits tell nobody which
        accounts exist."""
        if route.grpc_path == SIGN_IN_PATH:
            await self._take(SIGN_IN_ADDRESS, request.remote or "unknown")
            await self._take(SIGN_IN_ACCOUNT, message.username.strip().lower())
        elif route.grpc_path == SET_PASSWORD_PATH:
            await self._take(SIGN_IN_ACCOUNT, f"#{dict(metadata)[USER_ID_KEY]}")

    async def _take(self, policy: Policy, who: str) -> None:
        applied, decision = await self._limits.check(policy, who)
        if decision.allowed:
            return
        retry_s = max(1, math.ceil(decision.retry_after_s))
        error = ResourceExhausted(
            f"too many requests ({applied.name} limit: {applied.per_minute:g} a minute); "
            f"try again in {retry_s} s",
            metadata={"policy": applied.name},
        )
        window_s = round(applied.burst * 60 / applied.per_minute)
        headers = {
            "Retry-After": str(retry_s),
            "RateLimit-Policy": f'"{applied.name}";q={applied.burst};w={window_s}',
            "RateLimit": f'"{applied.name}";r={decision.remaining};t={math.ceil(decision.reset_s)}',
        }
        raise _Limited(domain_error_response(error, headers=headers))

    def _match(self, request: web.Request) -> tuple[Route | None, dict[str, str]]:
        for route in self._routes:
            if route.http_method != request.method:
                continue
            match = route.pattern.match(request.path)
            if match:
                return route, match.groupdict()
        return None, {}

    def _methods_for(self, path: str) -> set[str]:
        return {r.http_method for r in self._routes if r.pattern.match(path)}

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        async def status(name: str, channel: grpc.aio.Channel) -> tuple[str, str]:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                # A service that is down is reported as such at once, not waited for.
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service=""),
                    timeout=HEALTH_TIMEOUT_S,
                    wait_for_ready=False,
                )
                return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as exc:
                return name, f"UNREACHABLE ({exc.code().name})"

        results = dict(await asyncio.gather(*(status(n, c) for n, c in self._channels.items())))
        serving = all(s == "SERVING" for s in results.values())
        return web.json_response(
            {"status": "SERVING" if serving else "NOT_SERVING", "services": results},
            status=200 if serving else 503,
        )


def _codec(route: Route) -> dict[str, Any]:
    return {
        "request_serializer": route.request_cls.SerializeToString,
        "response_deserializer": route.response_cls.FromString,
    }


async def _read_body(request: web.Request) -> bytes:
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            return await request.read()
    except TimeoutError as exc:
        raise web.HTTPRequestTimeout(
            reason=f"the request body did not arrive within {BODY_TIMEOUT_S:.0f} s"
        ) from exc


class _Limited(Exception):
    """A refusal by a rate limit, carrying its 429 answer."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("rate limited")
        self.response = response


def _rpc_error_response(exc: grpc.aio.AioRpcError) -> web.Response:
    body = http_error_body(exc)
    return web.json_response(body, status=body["error"]["code"])


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One line per request: what was asked (the route's template, not the path), its status,
    how long it took, and for whom; never the token."""
    started = time.perf_counter()
    response = await handler(request)  # _json_errors inside: every answer is a response
    duration_ms = (time.perf_counter() - started) * 1000
    route = request.get("route", request.path)
    access.info(
        "%s %s %d %.1f ms",
        request.method,
        route,
        response.status,
        duration_ms,
        extra={
            "http_method": request.method,
            "route": route,
            "status": response.status,
            "duration_ms": round(duration_ms, 2),
            "user_id": str(request.get("user_id", "")),
            "client": request.remote or "",
        },
    )
    return response


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own errors (body too large...) and any surprise keep the JSON error shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 500:
            return error_response("INTERNAL", exc.reason, http_status=exc.status)
        error = (error_class_for_http_status(exc.status) or InvalidArgument)(exc.reason)
        return domain_error_response(error, http_status=exc.status)
    except RequestPayloadError as exc:  # a body aiohttp cannot read: e.g. "gzip" that is not
        cause = exc.__cause__ if isinstance(exc.__cause__, HttpProcessingError) else None
        reason = cause.message if cause is not None else "it is malformed"
        return domain_error_response(
            InvalidArgument(f"the request body cannot be read: {reason}"), http_status=400
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("INTERNAL", "internal error")

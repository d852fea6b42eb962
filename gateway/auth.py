"""Bearer tokens -> user ids, resolved once per request through graph_svc (with a short cache)."""

from __future__ import annotations

import time
from collections import OrderedDict

import grpc
from photoshare.graph.v1 import graph_service_pb2, graph_service_pb2_grpc

from common.errors import Unauthenticated
from common.rpc_errors import from_rpc_error

CACHE_TTL_S = 60.0
CACHE_SIZE = 100_000
MAX_TOKEN_CHARS = 256


class TokenResolver:
    def __init__(self, channel: grpc.aio.Channel, *, timeout_s: float) -> None:
        self._stub = graph_service_pb2_grpc.GraphServiceStub(channel)
        self._timeout_s = timeout_s
        self._cache: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def user_id(self, authorization: str | None) -> int:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "this call needs an 'Authorization: Bearer <token>' header; "
                "sign up with POST /v1/users to get a token",
                reason="MISSING_TOKEN",
            )
        token = token.strip()
        if not (token.isascii() and token.isprintable()) or len(token) > MAX_TOKEN_CHARS:
            # Tokens are short URL-safe ASCII; anything else cannot be valid (and would not
            # survive the trip to graph_svc).
            raise Unauthenticated("the bearer token is not valid", reason="INVALID_TOKEN")
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        try:
            response = await self._stub.Authenticate(
                graph_service_pb2.AuthenticateRequest(token=token), timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, service="graph service") from exc
        self._cache[token] = (response.user_id, time.monotonic() + CACHE_TTL_S)
        self._cache.move_to_end(token)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return response.user_id

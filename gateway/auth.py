"""Bearer tokens -> the caller (user and session), resolved through graph_svc and cached.

The cache holds a token's caller for CACHE_TTL_S, keyed by the token's SHA-256. It learns of
signed-out sessions from `SessionsRevoked` events (gateway/events.py tails them from the log):
a revoked token leaves the cache, and is refused here for CACHE_TTL_S so that an answer
still in flight cannot cache it again. While that tail is not running nothing is cached, so a
revocation is never missed: every request then asks graph_svc.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import grpc
from photoshare.graph.v1 import graph_internal_service_pb2, graph_internal_service_pb2_grpc

from common.errors import Unauthenticated
from common.rpc_errors import from_rpc_error
from common.tokens import hash_token

CACHE_TTL_S = 60.0
CACHE_SIZE = 100_000
MAX_TOKEN_CHARS = 256
Caller = tuple[int, int]  # user id, session id


class TokenResolver:
    """Example:
    tokens = TokenResolver(graph_channel, timeout_s=5)
    tokens.start_caching()  # once revocations are being received
    user_id, session_id = await tokens.caller(request.headers.get("Authorization"))
    tokens.revoked([token_hash])  # from a SessionsRevoked event
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stub = graph_internal_service_pb2_grpc.GraphInternalServiceStub(channel)
        self._timeout_s = timeout_s
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[Caller, float]] = OrderedDict()
        self._revoked: OrderedDict[bytes, float] = OrderedDict()  # hash -> refused until
        self._caching = False

    def start_caching(self) -> None:
        self._caching = True

    def stop_caching(self) -> None:
        """Revocations may be missed from now on: forget every cached token."""
        self._caching = False
        self._cache.clear()

    def revoked(self, token_hashes: Sequence[bytes]) -> None:
        now = self._clock()
        while self._revoked and next(iter(self._revoked.values())) <= now:
            self._revoked.popitem(last=False)
        for token_hash in token_hashes:
            self._cache.pop(token_hash, None)
            self._revoked[token_hash] = now + CACHE_TTL_S
            self._revoked.move_to_end(token_hash)

    async def caller(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "this call needs an 'Authorization: Bearer <token>' header; sign up with "
                "POST /v1/users or sign in with POST /v1/sessions to get a token",
                reason="MISSING_TOKEN",
            )
        token = token.strip()
        if not (token.isascii() and token.isprintable()) or len(token) > MAX_TOKEN_CHARS:
            # Tokens are short URL-safe ASCII; anything else cannot be valid (and would not
            # survive the trip to graph_svc).
            raise Unauthenticated("the bearer token is not valid", reason="INVALID_TOKEN")
        token_hash = hash_token(token)
        now = self._clock()
        if self._revoked.get(token_hash, 0.0) > now:
            raise Unauthenticated(
                "the bearer token was signed out; sign in again", reason="INVALID_TOKEN"
            )
        cached = self._cache.get(token_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            response = await self._stub.Authenticate(
                graph_internal_service_pb2.AuthenticateRequest(token=token), timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, service="graph service") from exc
        found = (response.user_id, response.session_id)
        if self._caching and token_hash not in self._revoked:
            self._cache[token_hash] = (found, self._clock() + CACHE_TTL_S)
            self._cache.move_to_end(token_hash)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

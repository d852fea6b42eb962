"""The gateway's token cache: what it keeps, and how a revocation empties it."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from photoshare.graph.v1 import graph_internal_service_pb2

from common.errors import Unauthenticated
from common.tokens import hash_token
from gateway.auth import CACHE_TTL_S, TokenResolver


class Graph:
    """graph_svc's Authenticate: counts the calls; `hold` keeps an answer in flight."""

    def __init__(self) -> None:
        self.calls = 0
        self.hold: asyncio.Event | None = None

    async def Authenticate(
        self, request: graph_internal_service_pb2.AuthenticateRequest, **options: float
    ) -> graph_internal_service_pb2.AuthenticateResponse:
        self.calls += 1
        if self.hold is not None:
            await self.hold.wait()
        return graph_internal_service_pb2.AuthenticateResponse(user_id=7, session_id=70)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def resolver() -> tuple[TokenResolver, Graph, Clock]:
    graph, clock = Graph(), Clock()
    tokens = TokenResolver(grpc.aio.insecure_channel("127.0.0.1:1"), timeout_s=1, clock=clock)
    tokens._stub = graph  # type: ignore[assignment]
    return tokens, graph, clock


BEARER = "Bearer ps_token"


async def test_nothing_is_cached_until_revocations_are_followed() -> None:
    tokens, graph, clock = resolver()
    for _ in range(2):
        assert await tokens.caller(BEARER) == (7, 70)
    assert graph.calls == 2  # the tail is not running: every request asks
    tokens.start_caching()
    for _ in range(2):
        await tokens.caller(BEARER)
    assert graph.calls == 3
    clock.now += CACHE_TTL_S + 1
    await tokens.caller(BEARER)
    assert graph.calls == 4  # expired
    tokens.stop_caching()  # the tail failed: the cache is dropped
    await tokens.caller(BEARER)
    assert graph.calls == 5


async def test_a_revoked_token_is_refused_at_once_even_with_an_answer_in_flight() -> None:
    tokens, graph, clock = resolver()
    tokens.start_caching()
    await tokens.caller(BEARER)
    graph.hold = asyncio.Event()
    other = asyncio.create_task(tokens.caller("Bearer ps_other"))
    await asyncio.sleep(0)  # its Authenticate is now waiting for graph_svc
    tokens.revoked([hash_token("ps_token"), hash_token("ps_other")])
    graph.hold.set()
    assert await other == (7, 70)  # asked before the revocation: answered, but not kept
    for bearer in (BEARER, "Bearer ps_other"):
        with pytest.raises(Unauthenticated, match="signed out"):
            await tokens.caller(bearer)
    clock.now += CACHE_TTL_S + 1  # by now graph_svc itself refuses it (here: the fake says yes)
    assert await tokens.caller(BEARER) == (7, 70)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer " + "x" * 300])
async def test_a_missing_or_malformed_token_is_refused_without_asking(header: Any) -> None:
    tokens, graph, _ = resolver()
    with pytest.raises(Unauthenticated):
        await tokens.caller(header)
    assert graph.calls == 0

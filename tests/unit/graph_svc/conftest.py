"""A graph domain on the embedded store and cache, with events on an in-memory log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from common.events.memory import InMemoryEventLog
from common.ids import IdGenerator
from common.settings import Settings
from common.signing import Signer
from graph_svc.caching import CachedFollowing
from graph_svc.events import GraphEventPublisher
from graph_svc.graph import Graph
from graph_svc.storage import make_following_cache, make_graph_store
from graph_svc.storage.base import GraphStore


@dataclass
class GraphWorld:
    graph: Graph
    store: GraphStore
    log: InMemoryEventLog

    async def users(self, *names: str) -> list[int]:
        return [(await self.graph.create_user(name))[0].id for name in names]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GraphWorld]:
    settings = Settings(data_dir=tmp_path)
    store, cache = make_graph_store(settings), make_following_cache(settings)
    await store.open()
    await cache.open()
    log = InMemoryEventLog()
    graph = Graph(
        store,
        CachedFollowing(store, cache),
        GraphEventPublisher(log),
        IdGenerator(1),
        Signer(b"k", purpose="graph-page"),
        clock=lambda: 1_000,
    )
    yield GraphWorld(graph, store, log)
    await cache.close()
    await store.close()

"""A graph domain on the embedded store and cache, with events on an in-memory log and the
media service faked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from common.events.memory import InMemoryEventLog
from common.ids import IdGenerator
from common.settings import Settings
from common.signing import Signer
from graph_svc.caching import CachedFollowing
from graph_svc.events import GraphEventPublisher
from graph_svc.graph import Graph
from graph_svc.models import UploadTarget
from graph_svc.storage import make_following_cache, make_graph_store
from graph_svc.storage.base import GraphStore


@dataclass
class FakeAvatarUploads:
    """The media service's CreateUpload for avatars: records (upload id, user, type, size)."""

    asked: list[tuple[int, int, str, int]] = field(default_factory=list)

    async def open_avatar_upload(
        self, upload_id: int, user_id: int, content_type: str, size_bytes: int
    ) -> UploadTarget:
        self.asked.append((upload_id, user_id, content_type, size_bytes))
        return UploadTarget(f"http://media/uploads/{upload_id}", "PUT", 99_000)


@dataclass
class GraphWorld:
    graph: Graph
    store: GraphStore
    log: InMemoryEventLog
    avatar_uploads: FakeAvatarUploads

    async def users(self, *names: str) -> list[int]:
        return [(await self.graph.create_user(name))[0].id for name in names]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GraphWorld]:
    settings = Settings(data_dir=tmp_path)
    store, cache = make_graph_store(settings), make_following_cache(settings)
    await store.open()
    await cache.open()
    log, avatar_uploads = InMemoryEventLog(), FakeAvatarUploads()
    graph = Graph(
        store,
        CachedFollowing(store, cache),
        GraphEventPublisher(log),
        avatar_uploads,
        IdGenerator(1),
        Signer(b"k", purpose="graph-page"),
        clock=lambda: 1_000,
    )
    yield GraphWorld(graph, store, log, avatar_uploads)
    await cache.close()
    await store.close()

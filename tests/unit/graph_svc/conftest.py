"""A graph domain on the embedded store and cache, with events on an in-memory log and the
media service faked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import argon2
import pytest

from common.events.memory import InMemoryEventLog
from common.ids import FixedWorkerId, IdGenerator
from common.settings import Settings
from common.signing import Signer
from graph_svc.caching import CachedFollowing
from graph_svc.erasure import ErasurePolicy, Erasures
from graph_svc.events import GraphEventPublisher
from graph_svc.graph import Graph
from graph_svc.models import UploadTarget
from graph_svc.passwords import Argon2Passwords
from graph_svc.sessions import Sessions
from graph_svc.storage import make_following_cache, make_graph_store, make_session_store
from graph_svc.storage.base import GraphStore, SessionStore


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
class FakePostEraser:
    """post_svc's EraseAuthorPosts and EraseUserEngagement: the users' post and like
    counts; `fail` breaks the next call."""

    posts: dict[int, int] = field(default_factory=dict)
    likes: dict[int, int] = field(default_factory=dict)
    forgotten: list[int] = field(default_factory=list)
    calls: int = 0
    fail: bool = False

    async def forget_author(self, user_id: int) -> None:
        self.forgotten.append(user_id)

    async def erase_engagement(self, user_id: int, limit: int) -> bool:
        self.likes[user_id] = max(0, self.likes.get(user_id, 0) - limit)
        return self.likes[user_id] > 0

    async def erase_posts(self, author_id: int, limit: int) -> bool:
        self.calls += 1
        if self.fail:
            self.fail = False
            raise ConnectionError("post_svc went away")
        self.posts[author_id] = max(0, self.posts.get(author_id, 0) - limit)
        return self.posts[author_id] > 0


@dataclass
class FakeFeedEraser:
    """feed_svc's EraseUserFeeds: who was erased there."""

    erased: list[int] = field(default_factory=list)

    async def erase_feeds(self, user_id: int) -> None:
        self.erased.append(user_id)


@dataclass
class FakeMediaEraser:
    """media_svc's EraseAuthorMedia: the users' upload counts."""

    uploads: dict[int, int] = field(default_factory=dict)

    async def erase_media(self, author_id: int, limit: int) -> bool:
        self.uploads[author_id] = max(0, self.uploads.get(author_id, 0) - limit)
        return self.uploads[author_id] > 0


@dataclass
class GraphWorld:
    graph: Graph
    sessions: Sessions
    erasures: Erasures
    post_eraser: FakePostEraser
    media_eraser: FakeMediaEraser
    feed_eraser: FakeFeedEraser
    following: CachedFollowing
    events: GraphEventPublisher
    store: GraphStore
    session_store: SessionStore
    log: InMemoryEventLog
    avatar_uploads: FakeAvatarUploads
    clock: Clock

    async def users(self, *names: str) -> list[int]:
        return [(await self.graph.create_user(name))[0].id for name in names]


class Clock:
    now = 1_000

    def __call__(self) -> int:
        return self.now


def fast_passwords() -> Argon2Passwords:
    """Argon2id with the smallest cost: the rules are under test here, not the cost."""
    return Argon2Passwords(argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GraphWorld]:
    settings = Settings(data_dir=tmp_path)
    store, cache = make_graph_store(settings), make_following_cache(settings)
    session_store = make_session_store(settings)
    for resource in (store, cache, session_store):
        await resource.open()
    log, avatar_uploads, clock = InMemoryEventLog(), FakeAvatarUploads(), Clock()
    events, ids = GraphEventPublisher(log), IdGenerator(FixedWorkerId(1))
    sessions = Sessions(session_store, store, fast_passwords(), events, ids, clock)
    post_eraser, following = FakePostEraser(), CachedFollowing(store, cache)
    media_eraser, feed_eraser = FakeMediaEraser(), FakeFeedEraser()
    graph = Graph(
        store,
        sessions,
        following,
        events,
        avatar_uploads,
        ids,
        Signer(b"k", purpose="graph-page"),
        clock=clock,
    )
    erasures = Erasures(
        store,
        sessions,
        following,
        events,
        post_eraser,
        media_eraser,
        feed_eraser,
        ErasurePolicy(grace_ms=60_000, edges_per_round=2, items_per_call=10),
        clock,
    )
    yield GraphWorld(
        graph,
        sessions,
        erasures,
        post_eraser,
        media_eraser,
        feed_eraser,
        following,
        events,
        store,
        session_store,
        log,
        avatar_uploads,
        clock,
    )
    for resource in (session_store, cache, store):
        await resource.close()

"""A post domain on the embedded store, with the media and graph services and the event log
faked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from photoshare.graph.v1.user_summary_pb2 import UserSummary
from photoshare.media.v1 import media_pb2

from common.errors import InvalidArgument
from common.events.memory import InMemoryEventLog
from common.ids import FixedWorkerId, IdGenerator
from common.settings import Settings
from common.signing import Signer
from post_svc.authors import Authors
from post_svc.deletion import PostDeletion
from post_svc.engagement import Engagement
from post_svc.events import EngagementEventPublisher, PostEventPublisher
from post_svc.models import MediaSpec, UploadTarget
from post_svc.posts import Posts
from post_svc.storage import (
    make_author_cache,
    make_engagement_store,
    make_post_store,
    make_stats_store,
)
from post_svc.storage.base import EngagementStore, PostStore, StatsStore
from post_svc.storage.memory_liked import InMemoryLikedCache


@dataclass
class FakeUploadSlots:
    """The media service's CreateUpload (accepts photos only) and CloseUpload: records what
    it was asked."""

    asked: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)

    async def close_upload(self, post_id: int) -> None:
        self.closed.append(post_id)

    async def open_upload(self, post_id: int, author_id: int, spec: MediaSpec) -> UploadTarget:
        self.asked.append(post_id)
        if spec.type != "PHOTO":
            raise InvalidArgument("media.type must be PHOTO", field="media.type")
        return UploadTarget(f"http://media/uploads/{post_id}", "PUT", 99_000)


@dataclass
class FakeUserDirectory:
    """The graph service's BatchGetUserSummaries: every id below 1000 is a user named
    `user<id>`; records each call's ids."""

    calls: list[list[int]] = field(default_factory=list)
    display_names: dict[int, str] = field(default_factory=dict)

    async def summaries(self, user_ids: Sequence[int]) -> dict[int, UserSummary]:
        self.calls.append(list(user_ids))
        return {
            i: UserSummary(id=i, username=f"user{i}", display_name=self.display_names.get(i, ""))
            for i in user_ids
            if i < 1000
        }


@dataclass
class PostWorld:
    posts: Posts
    engagement: Engagement
    authors: Authors
    deletion: PostDeletion
    directory: FakeUserDirectory
    engagement_ids: IdGenerator
    store: PostStore
    engagement_store: EngagementStore
    stats: StatsStore
    uploads: FakeUploadSlots
    log: InMemoryEventLog
    clock: list[int]

    async def published(self, author_id: int, at_ms: int | None = None) -> int:
        """A published photo post of the author's."""
        post, _ = await self.posts.create(author_id, "", MediaSpec("PHOTO", "image/jpeg", 10))
        if at_ms is not None:
            self.clock[0] = at_ms
        await self.posts.mark_published(post.id, media_pb2.Media())
        return post.id


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[PostWorld]:
    settings = Settings(data_dir=tmp_path)
    store = make_post_store(settings)
    engagement_store = make_engagement_store(settings)
    stats = make_stats_store(settings)
    for opened in (store, engagement_store, stats):
        await opened.open()
    uploads, log, clock = FakeUploadSlots(), InMemoryEventLog(), [1_000]
    ids = IdGenerator(FixedWorkerId(2))
    posts = Posts(
        store,
        uploads,
        PostEventPublisher(log),
        ids,
        Signer(b"k", purpose="grid"),
        clock=lambda: clock[0],
    )
    engagement = Engagement(
        store,
        engagement_store,
        stats,
        InMemoryLikedCache(),
        EngagementEventPublisher(log),
        ids,
        Signer(b"k", purpose="likes"),
        Signer(b"k", purpose="comments"),
        clock=lambda: clock[0],
    )
    directory = FakeUserDirectory()
    author_cache = make_author_cache(settings)
    authors = Authors(directory, author_cache)
    deletion = PostDeletion(posts, store, engagement_store, stats, PostEventPublisher(log), uploads)
    yield PostWorld(
        posts,
        engagement,
        authors,
        deletion,
        directory,
        ids,
        store,
        engagement_store,
        stats,
        uploads,
        log,
        clock,
    )
    for opened in (store, engagement_store, stats):
        await opened.close()
    await author_cache.close()

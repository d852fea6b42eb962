"""A post domain on the embedded store, with the media service and the event log faked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from common.errors import InvalidArgument
from common.events.memory import InMemoryEventLog
from common.ids import IdGenerator
from common.settings import Settings
from common.signing import Signer
from post_svc.events import PostEventPublisher
from post_svc.models import MediaSpec, UploadTarget
from post_svc.posts import Posts
from post_svc.storage import make_post_store
from post_svc.storage.base import PostStore


@dataclass
class FakeUploadSlots:
    """The media service's CreateUpload: accepts photos only, records what it was asked."""

    asked: list[int] = field(default_factory=list)

    async def open_upload(self, post_id: int, author_id: int, spec: MediaSpec) -> UploadTarget:
        self.asked.append(post_id)
        if spec.type != "PHOTO":
            raise InvalidArgument("media.type must be PHOTO", field="media.type")
        return UploadTarget(f"http://media/uploads/{post_id}", "PUT", 99_000)


@dataclass
class PostWorld:
    posts: Posts
    store: PostStore
    uploads: FakeUploadSlots
    log: InMemoryEventLog
    clock: list[int]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[PostWorld]:
    store = make_post_store(Settings(data_dir=tmp_path))
    await store.open()
    uploads, log, clock = FakeUploadSlots(), InMemoryEventLog(), [1_000]
    posts = Posts(
        store,
        uploads,
        PostEventPublisher(log),
        IdGenerator(2),
        Signer(b"k", purpose="grid"),
        clock=lambda: clock[0],
    )
    yield PostWorld(posts, store, uploads, log, clock)
    await store.close()

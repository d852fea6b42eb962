"""A media domain on the embedded stores and files, with a fake processor and the real event
publisher on an in-memory log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from photoshare.media.v1 import media_pb2

from common.events.base import TOPIC_MEDIA
from common.events.memory import InMemoryEventLog
from common.signing import Signer
from media_svc.claims import ProcessName
from media_svc.decoding.contract import (
    DECODED_NAME,
    JobKind,
    Placeholder,
    RejectedMedia,
    RenderedFile,
    RenderResult,
)
from media_svc.events import MediaEventPublisher
from media_svc.media_files import MediaFiles
from media_svc.pipeline import MediaPipeline, PipelinePolicy
from media_svc.renditions import Renditions
from media_svc.storage.file_objects import FileObjectStore
from media_svc.storage.sqlite import SqliteUploadStore
from media_svc.uploads import UploadPolicy, Uploads
from tests.fakes import decoded

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 60


class Events:
    """What the pipeline announced: its events, sent by the real publisher to a log."""

    def __init__(self) -> None:
        self.log = InMemoryEventLog()
        self.publisher = MediaEventPublisher(self.log)

    def _sent(self, kind: str) -> list[Any]:
        sent = []
        for key, event in decoded(self.log, TOPIC_MEDIA):
            if event.WhichOneof("payload") == kind:
                payload = getattr(event, kind)
                # One post's (or one user's avatar's) events stay in order.
                if kind.startswith("avatar"):
                    owner = payload.user_id
                else:
                    owner = payload.upload_id if kind == "media_deleted" else payload.post_id
                assert key == str(owner)
                sent.append(payload)
        return sent

    @property
    def processed(self) -> list[tuple[int, media_pb2.Media]]:
        return [(p.post_id, p.media) for p in self._sent("media_processed")]

    @property
    def updated(self) -> list[tuple[int, media_pb2.Media]]:
        return [(p.post_id, p.media) for p in self._sent("media_updated")]

    @property
    def failed(self) -> list[tuple[int, str]]:
        return [(p.post_id, p.reason) for p in self._sent("media_failed")]

    @property
    def deleted(self) -> list[tuple[int, list[str]]]:
        """(upload id, URLs) of every MediaDeleted."""
        return [(p.upload_id, list(p.urls)) for p in self._sent("media_deleted")]

    @property
    def avatars(self) -> list[tuple[int, int, media_pb2.Media]]:
        """(user id, upload id, avatar) of every AvatarProcessed."""
        return [(p.user_id, p.upload_id, p.avatar) for p in self._sent("avatar_processed")]

    @property
    def avatar_failures(self) -> list[tuple[int, int, str]]:
        return [(p.user_id, p.upload_id, p.reason) for p in self._sent("avatar_failed")]


class Processor:
    """Writes one rendition per job: the source's bytes, tagged with the job's kind."""

    def __init__(self) -> None:
        self.reject: str | None = None
        self.jobs: list[str] = []
        self.sources: list[tuple[Path, str]] = []  # what each job was given to decode
        self.meanwhile: Callable[[], Awaitable[None]] | None = None  # runs mid-render

    async def render(
        self, kind: JobKind, source: Path, content_type: str, out_dir: Path
    ) -> RenderResult:
        self.jobs.append(kind)
        self.sources.append((source, content_type))
        original = source.read_bytes()  # noqa: ASYNC240 - tiny files
        if self.meanwhile is not None:
            await self.meanwhile()
        if self.reject:
            raise RejectedMedia(self.reject)
        if kind is JobKind.PHOTO:  # what it decoded, for the AVIF job, as the real one does
            (out_dir / DECODED_NAME).write_bytes(b"decoded " + original)
        extension = "avif" if kind is JobKind.AVIF else "jpg"
        target = out_dir / f"feed.{extension}"
        target.write_bytes(kind.encode() + original)
        content_type = "image/avif" if kind is JobKind.AVIF else "image/jpeg"
        rendition = RenderedFile("FEED", content_type, extension, 4, 3, target)
        return RenderResult(
            4, 3, [rendition], Placeholder("L00000fQfQfQfQfQfQfQfQfQfQfQ", "#000000")
        )


class Clock:
    now = 1_000_000

    def __call__(self) -> int:
        return self.now


@dataclass
class World:
    uploads: Uploads
    pipeline: MediaPipeline
    processor: Processor
    events: Events
    clock: Clock
    store: SqliteUploadStore
    files: MediaFiles
    objects_root: Path  # the object store's files
    renditions: Renditions


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = SqliteUploadStore(tmp_path / "media.db")
    await store.open()
    events, clock, processor = Events(), Clock(), Processor()
    objects = FileObjectStore(tmp_path / "objects")
    await objects.open()
    files = MediaFiles(objects, tmp_path / "scratch")
    await files.open()
    renditions = Renditions(store, files, events.publisher)
    pipeline = MediaPipeline(
        store,
        files,
        renditions,
        processor,
        events.publisher,
        PipelinePolicy("http://cdn"),
        ProcessName("media-1"),
    )
    uploads = Uploads(
        store,
        files,
        pipeline,
        renditions,
        Signer(b"k", purpose="u"),
        UploadPolicy("http://cdn", 60),
        ProcessName("media-1"),
        clock,
    )
    yield World(
        uploads, pipeline, processor, events, clock, store, files, tmp_path / "objects", renditions
    )
    await store.close()

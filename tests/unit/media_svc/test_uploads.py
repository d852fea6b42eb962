"""Upload slots: signed URLs, expiry, size and type checks, and failing expired slots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from photoshare.media.v1 import media_pb2

from common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from common.signing import Signer
from media_svc.models import RejectedImage, RenderedImage, RenderResult, UploadState
from media_svc.storage.files import FileBlobStore
from media_svc.storage.sqlite import SqliteUploadStore
from media_svc.uploads import EXPIRED_REASON, UploadPolicy, Uploads

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 60


class Events:
    def __init__(self) -> None:
        self.processed: list[tuple[int, media_pb2.Media]] = []
        self.failed: list[tuple[int, str]] = []

    async def media_processed(self, post_id: int, author_id: int, media: media_pb2.Media) -> None:
        self.processed.append((post_id, media))

    async def media_failed(self, post_id: int, author_id: int, reason: str) -> None:
        self.failed.append((post_id, reason))


class Renderer:
    def __init__(self, reject: str | None = None) -> None:
        self.reject = reject

    def render(self, path: Path, content_type: str) -> RenderResult:
        if self.reject:
            raise RejectedImage(self.reject)
        image = RenderedImage("FEED", "image/jpeg", "jpg", 4, 3, path.read_bytes())
        return RenderResult(4, 3, [image])


class Clock:
    now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Uploads, Events, Clock, SqliteUploadStore]]:
    store = SqliteUploadStore(tmp_path / "media.db")
    await store.open()
    events, clock = Events(), Clock()
    uploads = Uploads(
        store,
        FileBlobStore(tmp_path),
        Renderer(),
        events,
        Signer(b"k", purpose="u"),
        UploadPolicy("http://cdn", url_ttl_s=60),
        ThreadPoolExecutor(1),
        clock=clock,
    )
    yield uploads, events, clock, store
    await store.close()


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


async def test_upload_is_stored_processed_and_announced(world) -> None:
    uploads, events, _, store = world
    target = await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    assert target.url.startswith("http://cdn/uploads/5?token=")
    await uploads.receive(5, token_of(target.url), body(JPEG[:10], JPEG[10:]), content_length=None)
    await uploads.process(5)
    [(post_id, media)] = events.processed
    assert post_id == 5
    assert media.renditions[0].url.startswith("http://cdn/media/")
    name = media.renditions[0].url.rsplit("/", 1)[1]
    assert await uploads.rendition(name) == JPEG
    assert (await store.get(5)).state is UploadState.PROCESSED


async def test_url_must_be_unchanged_and_unexpired(world) -> None:
    uploads, _, clock, _ = world
    target = await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    with pytest.raises(PermissionDenied, match="not valid"):
        await uploads.receive(6, token_of(target.url), body(JPEG), content_length=len(JPEG))
    with pytest.raises(PermissionDenied, match="not valid"):
        await uploads.receive(5, token_of(target.url)[::-1], body(JPEG), content_length=None)
    clock.now += 61_000
    with pytest.raises(PermissionDenied, match="expired"):
        await uploads.receive(5, token_of(target.url), body(JPEG), content_length=len(JPEG))


async def test_bytes_must_match_the_declared_size_and_type(world) -> None:
    uploads, _, _, _ = world
    target = await uploads.open_slot(5, 9, "PHOTO", "image/png", len(JPEG))
    token = token_of(target.url)
    with pytest.raises(InvalidArgument, match="is a JPEG, but the post declared image/png"):
        await uploads.receive(5, token, body(JPEG), content_length=None)
    target = await uploads.open_slot(6, 9, "PHOTO", "image/jpeg", len(JPEG))
    token = token_of(target.url)
    with pytest.raises(InvalidArgument, match="more than the declared"):
        await uploads.receive(6, token, body(JPEG, b"x"), content_length=None)
    with pytest.raises(InvalidArgument, match="arrived"):
        await uploads.receive(6, token, body(JPEG[:-1]), content_length=None)
    await uploads.receive(6, token, body(JPEG), content_length=len(JPEG))
    with pytest.raises(FailedPrecondition, match="already uploaded"):
        await uploads.receive(6, token, body(JPEG), content_length=len(JPEG))


async def test_slot_spec_is_validated(world) -> None:
    uploads, _, _, _ = world
    with pytest.raises(InvalidArgument, match="image/gif"):
        await uploads.open_slot(5, 9, "PHOTO", "image/gif", 10)
    with pytest.raises(InvalidArgument, match="sizeBytes"):
        await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", 0)
    with pytest.raises(InvalidArgument, match="PHOTO"):
        await uploads.open_slot(5, 9, "UNSPECIFIED", "image/jpeg", 10)


async def test_rejected_photo_and_expired_slot_fail_their_post(world, tmp_path: Path) -> None:
    uploads, events, clock, store = world
    target = await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    await uploads.open_slot(6, 9, "PHOTO", "image/jpeg", len(JPEG))
    await uploads.receive(5, token_of(target.url), body(JPEG), content_length=None)
    uploads._renderer = Renderer(reject="the photo could not be decoded: truncated")
    await uploads.process(5)
    clock.now += 61_000
    assert await uploads.expire_stale() == 1
    assert events.failed == [(5, "the photo could not be decoded: truncated"), (6, EXPIRED_REASON)]
    assert (await store.get(6)).state is UploadState.FAILED

"""Upload slots, receiving bytes, and turning an upload into a published photo."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from photoshare.media.v1 import media_pb2

from common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from common.ids import now_ms
from common.signing import Signer
from media_svc import formats
from media_svc.models import PHOTO_TYPES, RejectedImage, RenderResult, Upload, UploadState
from media_svc.storage.base import BlobStore, UploadStore

log = logging.getLogger(__name__)

# Reasons the HTTP layer turns into 413 and 415.
TOO_LARGE = "UPLOAD_TOO_LARGE"
WRONG_TYPE = "UPLOAD_WRONG_TYPE"
EXPIRED_REASON = "the upload URL expired before the photo arrived; create the post again"


class Renderer(Protocol):
    def render(self, path: Path, content_type: str) -> RenderResult:
        """Blocking; raises RejectedImage with a reason a person can read."""
        ...


class MediaEvents(Protocol):
    async def media_processed(
        self, post_id: int, author_id: int, media: media_pb2.Media
    ) -> None: ...

    async def media_failed(self, post_id: int, author_id: int, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    public_base: str
    url_ttl_s: int = 3600
    max_bytes: int = 50 * 1024 * 1024
    process_timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class UploadTarget:
    url: str
    method: str
    expires_at_ms: int


class Uploads:
    """From an upload slot to a published photo.

    Example:
        uploads = Uploads(store, blobs, PhotoRenderer(limits), events, signer, policy, executor)
        target = await uploads.open_slot(post_id, author_id, "PHOTO", "image/jpeg", 123456)
        await uploads.receive(post_id, token, body_chunks, content_length=123456)
        # processing follows in the background; events tell post_svc the outcome
    """

    def __init__(
        self,
        store: UploadStore,
        blobs: BlobStore,
        renderer: Renderer,
        events: MediaEvents,
        url_signer: Signer,
        policy: UploadPolicy,
        executor: Executor,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._renderer = renderer
        self._events = events
        self._signer = url_signer
        self._policy = policy
        self._executor = executor
        self._clock = clock
        self._queue: asyncio.Queue[int] = asyncio.Queue()

    async def open_slot(
        self, post_id: int, author_id: int, media_type: str, content_type: str, size_bytes: int
    ) -> UploadTarget:
        if media_type != "PHOTO":
            raise InvalidArgument("media.type must be PHOTO", field="media.type")
        if content_type not in PHOTO_TYPES:
            raise InvalidArgument(
                f"media.contentType {content_type!r} is not accepted; use one of "
                + ", ".join(PHOTO_TYPES),
                reason="UNSUPPORTED_CONTENT_TYPE",
                field="media.content_type",
            )
        if not 0 < size_bytes <= self._policy.max_bytes:
            raise InvalidArgument(
                f"media.sizeBytes must be between 1 and {self._policy.max_bytes}",
                reason=TOO_LARGE,
                field="media.size_bytes",
            )
        expires_at_ms = self._clock() + self._policy.url_ttl_s * 1000
        await self._store.create(
            Upload(post_id, author_id, media_type, content_type, size_bytes, expires_at_ms)
        )
        token = self._signer.sign(struct.pack(">qq", post_id, expires_at_ms))
        url = f"{self._policy.public_base}/uploads/{post_id}?token={token}"
        return UploadTarget(url, "PUT", expires_at_ms)

    async def receive(
        self,
        upload_id: int,
        token: str,
        chunks: AsyncIterator[bytes],
        *,
        content_length: int | None,
    ) -> Upload:
        """Stores the bytes durably and queues processing; returns once they are safe."""
        upload = await self._authorised_slot(upload_id, token)
        if content_length is not None and content_length != upload.size_bytes:
            reason = TOO_LARGE if content_length > upload.size_bytes else "UPLOAD_SIZE_MISMATCH"
            raise InvalidArgument(
                f"the post declared {upload.size_bytes} bytes but {content_length} were sent",
                reason=reason,
            )
        staging = self._blobs.staging_path(upload_id).with_suffix(f".{uuid.uuid4().hex}.part")
        try:
            await self._write(upload, chunks, staging)
            await self._blobs.put_original(upload_id, staging)
        finally:
            staging.unlink(missing_ok=True)
        if not await self._store.mark_received(upload_id):
            raise FailedPrecondition(
                "this post's photo was already uploaded", reason="ALREADY_UPLOADED"
            )
        self._queue.put_nowait(upload_id)
        return upload

    async def _authorised_slot(self, upload_id: int, token: str) -> Upload:
        try:
            signed_id, expires_at_ms = struct.unpack(
                ">qq", self._signer.verify(token, what="token")
            )
        except (InvalidArgument, struct.error) as exc:
            raise PermissionDenied(
                "the upload URL is not valid: use it exactly as it was given",
                reason="BAD_UPLOAD_SIGNATURE",
            ) from exc
        if signed_id != upload_id:
            raise PermissionDenied(
                "the upload URL is not valid: use it exactly as it was given",
                reason="BAD_UPLOAD_SIGNATURE",
            )
        if expires_at_ms < self._clock():
            raise PermissionDenied(
                "the upload URL has expired; create the post again", reason="UPLOAD_URL_EXPIRED"
            )
        upload = await self._store.get(upload_id)
        if upload is None:
            raise NotFound(f"upload {upload_id} does not exist", reason="UPLOAD_NOT_FOUND")
        if upload.state is not UploadState.OPEN:
            raise FailedPrecondition(
                "this post's photo was already uploaded", reason="ALREADY_UPLOADED"
            )
        return upload

    async def _write(self, upload: Upload, chunks: AsyncIterator[bytes], path: Path) -> None:
        received = 0
        head = b""
        with open(path, "wb") as file:  # noqa: ASYNC230 - writes go through to_thread below
            async for chunk in chunks:
                received += len(chunk)
                if received > upload.size_bytes:
                    raise InvalidArgument(
                        f"more than the declared {upload.size_bytes} bytes were sent",
                        reason=TOO_LARGE,
                    )
                if len(head) < 16:
                    head = (head + chunk)[:16]
                    if len(head) >= 12:
                        _check_magic(head, upload.content_type)
                await asyncio.to_thread(file.write, chunk)
            if received != upload.size_bytes:
                raise InvalidArgument(
                    f"the post declared {upload.size_bytes} bytes but {received} arrived",
                    reason="UPLOAD_SIZE_MISMATCH",
                )
            _check_magic(head, upload.content_type)
            await asyncio.to_thread(_sync, file)

    async def run_processing(self) -> None:
        """A processing worker: takes received uploads off the queue until cancelled."""
        while True:
            upload_id = await self._queue.get()
            try:
                await self.process(upload_id)
            except Exception:
                log.exception(
                    "processing upload %s failed; it stays RECEIVED for a retry", upload_id
                )
            finally:
                self._queue.task_done()

    async def resume(self) -> None:
        """Re-queues uploads whose processing a restart interrupted."""
        for upload in await self._store.in_state_received():
            self._queue.put_nowait(upload.upload_id)

    async def process(self, upload_id: int) -> None:
        upload = await self._store.get(upload_id)
        if upload is None or upload.state is not UploadState.RECEIVED:
            return
        loop = asyncio.get_running_loop()
        path = self._blobs.original_path(upload_id)
        try:
            result = await asyncio.wait_for(
                loop.run_in_executor(
                    self._executor, self._renderer.render, path, upload.content_type
                ),
                self._policy.process_timeout_s,
            )
        except RejectedImage as exc:
            await self._fail(upload, str(exc))
            return
        except TimeoutError:
            await self._fail(upload, "the photo took too long to process")
            return
        media = media_pb2.Media(
            type=media_pb2.MEDIA_TYPE_PHOTO, width=result.width, height=result.height
        )
        for image in result.renditions:
            digest = hashlib.sha256(image.data).hexdigest()
            await self._blobs.put_rendition(digest, image.extension, image.data)
            media.renditions.add(
                size=media_pb2.RenditionSize.Value(f"RENDITION_SIZE_{image.size}"),
                content_type=image.content_type,
                width=image.width,
                height=image.height,
                url=f"{self._policy.public_base}/media/{digest}.{image.extension}",
            )
        # Announce first, then record: a crash in between re-announces (idempotent downstream).
        await self._events.media_processed(upload.upload_id, upload.author_id, media)
        await self._store.mark_processed(upload_id, media.SerializeToString())

    async def expire_stale(self) -> int:
        """Fails the posts whose upload URL expired unused, so none stays pending forever."""
        stale = await self._store.expired_open(self._clock())
        for upload in stale:
            await self._fail(upload, EXPIRED_REASON)
        return len(stale)

    async def _fail(self, upload: Upload, reason: str) -> None:
        log.info("upload %s failed: %s", upload.upload_id, reason)
        await self._events.media_failed(upload.upload_id, upload.author_id, reason)
        await self._store.mark_failed(upload.upload_id, reason)

    async def rendition(self, name: str) -> bytes | None:
        digest, _, extension = name.partition(".")
        return await self._blobs.get_rendition(digest, extension)


def _check_magic(head: bytes, declared: str) -> None:
    actual = formats.sniff(head)
    if actual != declared:
        what = formats.NAMES.get(actual or "", "not a photo we accept")
        raise InvalidArgument(
            f"the file is {what}, but the post declared {declared}",
            reason=WRONG_TYPE,
        )


def _sync(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())

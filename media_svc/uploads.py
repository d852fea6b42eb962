"""Upload slots and receiving bytes: one PUT, or resumable tus 1.0 PATCHes on the same URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from photoshare.media.v1 import media_pb2

from common.erasure import check_erase_limit
from common.errors import (
    Conflict,
    Gone,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ResourceExhausted,
    UnsupportedMedia,
)
from common.files import private_opener
from common.ids import now_ms
from common.signing import Signer
from media_svc import formats
from media_svc.claims import POLL_S, RECEIVING, Claim, ProcessName, claimed, live_holder
from media_svc.media_files import MediaFiles
from media_svc.models import CONTENT_TYPES, Upload, UploadState
from media_svc.pipeline import MediaPipeline
from media_svc.renditions import Renditions
from media_svc.storage.base import UploadStore

# Reasons a client can act on (tus turns URL_EXPIRED into 410, as its protocol says).
TOO_LARGE = "UPLOAD_TOO_LARGE"
WRONG_TYPE = "UPLOAD_WRONG_TYPE"
ALREADY_UPLOADED = "ALREADY_UPLOADED"
UPLOAD_FAILED = "UPLOAD_FAILED"
OFFSET_MISMATCH = "UPLOAD_OFFSET_MISMATCH"
UPLOAD_BUSY = "UPLOAD_BUSY"
URL_EXPIRED = "UPLOAD_URL_EXPIRED"
WRITER_WAIT_S = 5.0  # how long a request waits for another writer of the same upload
DELETED_REASON = "the post was deleted"
_GONE = (UploadState.FAILED, UploadState.DELETED)  # the URL answers 410


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    public_base: str
    url_ttl_s: int = 3600
    max_photo_bytes: int = 50 * 1024 * 1024
    max_video_bytes: int = 300 * 1024 * 1024
    # Per author, slots waiting for their bytes and the bytes they may park in staging (each
    # slot lives as long as its URL); 0 lifts the quota.
    max_open_uploads: int = 20
    max_open_upload_bytes: int = 1024 * 1024 * 1024

    def max_bytes(self, media_type: str) -> int:
        return self.max_video_bytes if media_type == "VIDEO" else self.max_photo_bytes


@dataclass(frozen=True, slots=True)
class UploadTarget:
    url: str
    method: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """What a tus HEAD reports."""

    offset: int
    length: int
    expires_at_ms: int


class Uploads:
    """From an upload slot to an original stored durably and queued for publishing.

    Example:
        uploads = Uploads(store, files, pipeline, renditions, signer, policy, process)
        target = await uploads.open_slot(post_id, author_id, "PHOTO", "image/jpeg", 123456)
        await uploads.receive(post_id, token, body_chunks, content_length=123456)  # one PUT
        # or, resumably: progress = await uploads.progress(post_id, token)
        #                await uploads.append(post_id, token, progress.offset, more_chunks)
    """

    def __init__(
        self,
        store: UploadStore,
        files: MediaFiles,
        pipeline: MediaPipeline,
        renditions: Renditions,
        url_signer: Signer,
        policy: UploadPolicy,
        process: ProcessName,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        """`process` names this process in the claims of the uploads it is receiving."""
        self._store = store
        self._files = files
        self._pipeline = pipeline
        self._renditions = renditions
        self._signer = url_signer
        self._policy = policy
        self._clock = clock
        self._writers = _Writers(store, process, WRITER_WAIT_S)

    async def open_slot(
        self, post_id: int, author_id: int, media_type: str, content_type: str, size_bytes: int
    ) -> UploadTarget:
        accepted = CONTENT_TYPES.get(media_type)
        if accepted is None:
            raise InvalidArgument("media.type must be PHOTO or VIDEO", field="media.type")
        what = "an avatar" if media_type == "AVATAR" else f"a {media_type}"
        if content_type not in accepted:
            raise InvalidArgument(
                f"media.contentType {content_type[:100]!r} is not accepted for {what}; "
                "use one of " + ", ".join(accepted),
                reason="UNSUPPORTED_CONTENT_TYPE",
                field="media.content_type",
            )
        max_bytes = self._policy.max_bytes(media_type)
        if not 0 < size_bytes <= max_bytes:
            raise InvalidArgument(
                f"media.sizeBytes must be between 1 and {max_bytes} for {what}",
                reason=TOO_LARGE,
                field="media.size_bytes",
            )
        existing = await self._store.get(post_id)
        if existing is None:
            await self._check_quota(author_id, size_bytes)
            expires_at_ms = self._clock() + self._policy.url_ttl_s * 1000
            await self._store.create(
                Upload(post_id, author_id, media_type, content_type, size_bytes, expires_at_ms)
            )
        else:  # asked again for the same post (a retried request): the same target
            spec = (existing.author_id, existing.media_type, existing.content_type)
            if spec != (author_id, media_type, content_type) or (existing.size_bytes != size_bytes):
                raise Conflict(
                    f"upload {post_id} was opened for another file", reason="UPLOAD_SPEC_CHANGED"
                )
            expires_at_ms = existing.expires_at_ms
        token = self._signer.sign(struct.pack(">qq", post_id, expires_at_ms))
        url = f"{self._policy.public_base}/uploads/{post_id}?token={token}"
        return UploadTarget(url, "PUT", expires_at_ms)

    async def _check_quota(self, author_id: int, size_bytes: int) -> None:
        """One author cannot open slots without end, each parking up to a video's bytes for
        an hour. Concurrent opens may overshoot it by a few: it bounds, it does not count."""
        policy = self._policy
        if not policy.max_open_uploads:
            return
        count, declared = await self._store.open_of_author(author_id, self._clock())
        if count >= policy.max_open_uploads:
            raise ResourceExhausted(
                f"you have {count} uploads waiting for their bytes, the most allowed: finish "
                "them, or wait for their URLs to expire, before starting another",
                reason="TOO_MANY_OPEN_UPLOADS",
            )
        if declared + size_bytes > policy.max_open_upload_bytes:
            raise ResourceExhausted(
                f"your unfinished uploads already declare {declared} bytes; with this one "
                f"they would pass the {policy.max_open_upload_bytes} allowed: finish some "
                "first",
                reason="OPEN_UPLOAD_BYTES_EXCEEDED",
            )

    async def receive(
        self,
        upload_id: int,
        token: str,
        chunks: AsyncIterator[bytes],
        *,
        content_length: int | None,
    ) -> Upload:
        """The whole file in one request; returns once it is stored durably."""
        upload = await self._open_slot(upload_id, token)
        if content_length is not None and content_length != upload.size_bytes:
            message = f"the post declared {upload.size_bytes} bytes but {content_length} were sent"
            if content_length > upload.size_bytes:
                raise PayloadTooLarge(message, reason=TOO_LARGE)
            raise InvalidArgument(message, reason="UPLOAD_SIZE_MISMATCH")
        receiving = self._files.receiving_file(upload_id)
        try:
            async with self._writers.exclusive(upload_id) as claim:
                received = await self._write(upload, receiving, 0, chunks)
                if received != upload.size_bytes:
                    raise InvalidArgument(
                        f"the post declared {upload.size_bytes} bytes but {received} arrived",
                        reason="UPLOAD_SIZE_MISMATCH",
                    )
                await _confirm(claim)
                await self._complete(upload, receiving)
        finally:
            await asyncio.to_thread(receiving.unlink, missing_ok=True)
        return upload

    async def progress(self, upload_id: int, token: str) -> UploadProgress:
        """How many bytes are stored (tus HEAD); a finished upload reports all of them."""
        upload = await self._slot(upload_id, token)
        if upload.state in _GONE:
            raise Gone(f"this upload failed: {upload.failure_reason}", reason=UPLOAD_FAILED)
        if upload.state is not UploadState.OPEN:
            return UploadProgress(upload.size_bytes, upload.size_bytes, upload.expires_at_ms)
        await self._writers.settled(upload_id)  # report what a writer has finished saving
        offset = await self._files.staged_bytes(upload_id)
        return UploadProgress(offset, upload.size_bytes, upload.expires_at_ms)

    async def append(
        self, upload_id: int, token: str, offset: int, chunks: AsyncIterator[bytes]
    ) -> UploadProgress:
        """Appends at `offset` (tus PATCH); returns the progress after it. Bytes that arrived
        before the connection broke are kept, so the client resumes from there."""
        upload = await self._open_slot(upload_id, token)
        receiving = self._files.receiving_file(upload_id)
        try:
            async with self._writers.exclusive(upload_id) as claim:
                stored = await self._files.staged_bytes(upload_id)
                if offset != stored:
                    raise Conflict(
                        f"Upload-Offset is {offset} but {stored} bytes are stored; "
                        "ask with HEAD and continue from there",
                        reason=OFFSET_MISMATCH,
                    )
                try:
                    received = await self._write(upload, receiving, stored, chunks)
                except UnsupportedMedia:
                    raise  # the upload failed: nothing of it is kept
                except BaseException:
                    # The connection broke: what arrived is kept for the client's resume.
                    await self._stage(claim, upload_id, stored, receiving)
                    raise
                await self._stage(claim, upload_id, stored, receiving)
                stored += received
                if stored == upload.size_bytes:
                    await self._files.assemble(upload_id, receiving)
                    await _confirm(claim)
                    await self._complete(upload, receiving)
        finally:
            await asyncio.to_thread(receiving.unlink, missing_ok=True)
        return UploadProgress(stored, upload.size_bytes, upload.expires_at_ms)

    async def _stage(self, claim: Claim, upload_id: int, offset: int, piece: Path) -> None:
        if (await asyncio.to_thread(piece.stat)).st_size:
            await _confirm(claim)  # a writer that lost its claim adds nothing
            await self._files.stage(upload_id, offset, piece)

    async def close(self, upload_id: int) -> None:
        """Its post was deleted: the upload URL answers 410 from now on, and processing still
        running releases what it makes. Idempotent."""
        await self._store.mark_deleted(upload_id, DELETED_REASON)

    async def post_deleted(self, upload_id: int) -> None:
        """Its post was deleted: closed as above, the original and any partial bytes are
        deleted, and its renditions once no other upload uses them. Idempotent."""
        if await self._store.get(upload_id) is None:
            return
        await self.close(upload_id)
        async with self._writers.exclusive(upload_id):  # not under a PATCH still writing
            await self._files.discard_staging(upload_id)
            await self._files.discard_original(upload_id)
        # Read once closed: media recorded until then is released here; media a worker
        # finishes later is released by that worker.
        upload = await self._store.get(upload_id)
        if upload is not None and upload.media:
            await self._renditions.release(upload, media_pb2.Media.FromString(upload.media))

    async def erase_author(self, author_id: int, limit: int) -> bool:
        """Up to `limit` uploads of an erased account go as a deleted post's do, then their
        rows; returns whether more are left. A worker still processing one finds no row when
        it finishes, and releases what it made."""
        check_erase_limit(limit)
        uploads = await self._store.of_author(author_id, limit + 1)
        await asyncio.gather(*(self._erase(upload) for upload in uploads[:limit]))
        return len(uploads) > limit

    async def _erase(self, upload: Upload) -> None:
        await self.post_deleted(upload.upload_id)
        await self._files.discard_work(upload.upload_id)
        await self._store.erase(upload)

    async def _open_slot(self, upload_id: int, token: str) -> Upload:
        upload = await self._slot(upload_id, token)
        if upload.state in _GONE:
            raise Gone(f"this upload failed: {upload.failure_reason}", reason=UPLOAD_FAILED)
        if upload.state is not UploadState.OPEN:
            raise Conflict("this post's file was already uploaded", reason=ALREADY_UPLOADED)
        return upload

    async def _slot(self, upload_id: int, token: str) -> Upload:
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
                "the upload URL has expired; create the post again", reason=URL_EXPIRED
            )
        upload = await self._store.get(upload_id)
        if upload is None:
            raise NotFound(f"upload {upload_id} does not exist", reason="UPLOAD_NOT_FOUND")
        return upload

    async def _write(
        self, upload: Upload, path: Path, offset: int, chunks: AsyncIterator[bytes]
    ) -> int:
        """Writes the chunks, which continue the upload at `offset`, to a new scratch file;
        returns how many bytes arrived. Checks the first bytes against the declared type as
        soon as they are in."""
        received = 0
        # Opening is quick; the writes go through to_thread below. Received bytes are private.
        with open(path, "xb", opener=private_opener) as file:  # noqa: ASYNC230
            try:
                async for chunk in chunks:
                    received += len(chunk)
                    if offset + received > upload.size_bytes:
                        raise PayloadTooLarge(
                            f"more than the declared {upload.size_bytes} bytes were sent",
                            reason=TOO_LARGE,
                        )
                    await asyncio.to_thread(file.write, chunk)
                    if offset < formats.HEAD_BYTES <= offset + received or (
                        offset + received == upload.size_bytes
                    ):
                        await self._check_head(upload, file, path, offset)
            finally:
                # Whatever arrived is kept and counted, even when the connection broke.
                await asyncio.to_thread(_sync, file)
        return received

    async def _check_head(self, upload: Upload, file: BinaryIO, path: Path, offset: int) -> None:
        await asyncio.to_thread(file.flush)
        # What came before this request: only as much of it as the sniffing reads.
        before = min(offset, formats.HEAD_BYTES)
        earlier = await self._files.staged_head(upload.upload_id, before) if before else b""
        head = earlier + await asyncio.to_thread(_read_head, path)
        actual = formats.sniff(head[: formats.HEAD_BYTES])
        if formats.matches(actual, upload.content_type):
            return
        what = formats.NAMES.get(actual or "", "not a file we accept")
        reason = f"the file is {what}, but the post declared {upload.content_type}"
        # Terminal: the post ends FAILED with this reason rather than waiting for expiry.
        await self._pipeline.mark_failed(upload, reason)
        await self._files.discard_staging(upload.upload_id)
        raise UnsupportedMedia(reason, reason=WRONG_TYPE)

    async def _complete(self, upload: Upload, whole: Path) -> None:
        digest = await self._files.put_original(upload.upload_id, whole)
        await self._files.discard_staging(upload.upload_id)
        if not await self._store.mark_received(upload.upload_id, digest):
            raise Conflict("this post's file was already uploaded", reason=ALREADY_UPLOADED)
        self._pipeline.enqueue(upload.upload_id)


class _Writers:
    """One writer per upload at a time, whichever replica the requests reach (a claim in the
    shared store). A request that finds another writer waits a moment for it to end (after a
    broken connection it is still saving what arrived), then is told to retry. A writer that
    crashes holds the upload until its claim runs out (CLAIM_S)."""

    def __init__(self, store: UploadStore, process: ProcessName, wait_s: float) -> None:
        self._store = store
        self._process = process
        self._wait_s = wait_s

    async def settled(self, upload_id: int) -> None:
        """Returns once no writer holds the upload; UPLOAD_BUSY after `wait_s`."""
        try:
            async with asyncio.timeout(self._wait_s):
                # The holder may be another process: polled, there is nothing to wait on.
                while await live_holder(self._store, upload_id, RECEIVING, self._process):  # noqa: ASYNC110
                    await asyncio.sleep(POLL_S)
        except TimeoutError:
            raise _busy() from None

    @contextlib.asynccontextmanager
    async def exclusive(self, upload_id: int) -> AsyncIterator[Claim]:
        async with claimed(
            self._store, upload_id, RECEIVING, self._process, wait_s=self._wait_s
        ) as claim:
            if claim is None:
                raise _busy()
            yield claim


def _busy() -> Conflict:
    return Conflict(
        "another request is sending this upload's bytes; wait for it to end", reason=UPLOAD_BUSY
    )


async def _confirm(claim: Claim) -> None:
    """Nothing is stored by a writer that lost its claim (paused longer than it lasts)."""
    if not await claim.still_held():
        raise Conflict(
            "this upload was taken over by another request while this one was paused; "
            "ask with HEAD and continue from there",
            reason=UPLOAD_BUSY,
        )


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as file:
        return file.read(formats.HEAD_BYTES)


def _sync(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())

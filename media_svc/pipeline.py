"""From a received upload to published media: process, dedupe, add AVIF, reconcile, expire.

States: OPEN -> RECEIVED -> PUBLISHED (photos: JPEG and WebP announced, AVIF owed)
-> PROCESSED; any of OPEN and RECEIVED -> FAILED with a reason for the person posting.
Videos and avatars go from RECEIVED to PROCESSED at once (no AVIF owed). Any state ->
DELETED when the post is deleted; work finishing after that releases what it produced.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from photoshare.media.v1 import media_pb2

from common.ids import now_ms
from media_svc.claims import PROCESSING, ProcessName, claimed, live_holder
from media_svc.decoding.contract import (
    DECODED_NAME,
    DECODED_TYPE,
    JobKind,
    RejectedMedia,
    RenderResult,
)
from media_svc.media_files import MediaFiles
from media_svc.models import Upload, UploadState
from media_svc.renditions import Renditions, content_key, names_of
from media_svc.storage.base import UploadStore

log = logging.getLogger(__name__)

EXPIRED_REASON = "the upload URL expired before the file arrived; create the post again"


class Processor(Protocol):
    async def render(
        self, kind: JobKind, source: Path, content_type: str, out_dir: Path
    ) -> RenderResult:
        """Raises RejectedMedia with a reason to show."""
        ...


class MediaEvents(Protocol):
    """Announces what became of an upload to whoever it is for (a post, an avatar)."""

    async def media_processed(self, upload: Upload, media: media_pb2.Media) -> None: ...

    async def media_updated(self, upload: Upload, media: media_pb2.Media) -> None: ...

    async def media_failed(self, upload: Upload, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PipelinePolicy:
    public_base: str
    max_attempts: int = 3


class MediaPipeline:
    """Turns received uploads into published media, in the background.

    Example:
        pipeline = MediaPipeline(
            store, files, renditions, PooledProcessor(pool, timeouts), events, policy, process
        )
        pipeline.enqueue(upload_id)  # after the original is stored
        await asyncio.gather(pipeline.run_processing(), pipeline.run_enhancing())
    """

    def __init__(
        self,
        store: UploadStore,
        files: MediaFiles,
        renditions: Renditions,
        processor: Processor,
        events: MediaEvents,
        policy: PipelinePolicy,
        process: ProcessName,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        """`process` names this process in the claims of the uploads it is processing."""
        self._store = store
        self._files = files
        self._process_name = process
        self._renditions = renditions
        self._processor = processor
        self._events = events
        self._policy = policy
        self._clock = clock
        self._to_process: asyncio.Queue[_Queued] = asyncio.Queue()
        self._to_enhance: asyncio.Queue[_Queued] = asyncio.Queue()
        self._queued: set[int] = set()

    def enqueue(self, upload_id: int) -> None:
        self._queue_once(self._to_process, upload_id)

    async def run(self, processing_workers: int) -> None:
        """Takes up what was owed at start, then processes and enhances until cancelled."""
        await self._renditions.finish_deletions()
        await self.expire_stale()
        await self.resume()
        await asyncio.gather(
            self.run_enhancing(),
            *(self.run_processing() for _ in range(processing_workers)),
        )

    async def run_sweeps(self, interval_s: float) -> None:
        """Every `interval_s`: fails uploads that expired unfinished and takes over work
        whose processing died. Until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.expire_stale()
                await self.reconcile()
            except Exception:  # a store down for now: the next sweep tries again
                log.exception("the sweep failed; trying again in %.0f s", interval_s)

    async def run_processing(self) -> None:
        """A worker: publishes received uploads until cancelled."""
        await self._drain(self._to_process, self.process)

    async def run_enhancing(self) -> None:
        """A worker: adds AVIF to published photos until cancelled; runs behind processing."""
        await self._drain(self._to_enhance, self.enhance)

    async def resume(self) -> None:
        """Takes up all owed work, e.g. after a restart."""
        await self.reconcile()

    async def reconcile(self) -> int:
        """Queues the uploads that owe work and that no process is working on: received
        elsewhere and not started yet, or left by a process that died (its claim ran out).
        Whichever replica claims one first works on it. Returns how many it queued."""
        taken = 0
        for state, queue in (
            (UploadState.RECEIVED, self._to_process),
            (UploadState.PUBLISHED, self._to_enhance),
        ):
            for upload in await self._store.in_state(state):
                upload_id = upload.upload_id
                if upload_id in self._queued or await live_holder(
                    self._store, upload_id, PROCESSING, self._process_name
                ):
                    continue
                self._queue_once(queue, upload_id)
                taken += 1
        return taken

    async def expire_stale(self) -> int:
        """Fails the posts whose upload URL expired unfinished and drops their partial bytes."""
        stale = await self._store.expired_open(self._clock())
        for upload in stale:
            await self.mark_failed(upload, EXPIRED_REASON)
            await self._files.discard_staging(upload.upload_id)
        return len(stale)

    async def mark_failed(self, upload: Upload, reason: str) -> None:
        log.info("upload %s failed: %s", upload.upload_id, reason)
        await self._events.media_failed(upload, reason)
        await self._store.mark_failed(upload.upload_id, reason)
        await self._files.discard_work(upload.upload_id)

    async def process(self, upload_id: int) -> None:
        async with claimed(self._store, upload_id, PROCESSING, self._process_name) as claim:
            published = claim is not None and await self._process(upload_id)
        if published:  # queued once released: the AVIF job claims the upload in its turn
            self._queue_once(self._to_enhance, upload_id)

    async def enhance(self, upload_id: int) -> None:
        """Adds AVIF renditions to a published photo and announces the fuller media."""
        async with claimed(self._store, upload_id, PROCESSING, self._process_name) as claim:
            if claim is not None:
                await self._enhance(upload_id)

    async def _process(self, upload_id: int) -> bool:
        """Returns whether the upload was published and owes its AVIF."""
        upload = await self._started(upload_id, UploadState.RECEIVED)
        if upload is None:
            return False
        reused = await self._reusable(upload)
        if reused is not None:
            await self._events.media_processed(upload, reused)
            if not await self._store.mark_processed(upload_id, reused.SerializeToString()):
                await self._deleted_meanwhile(upload, reused)
            return False
        kind = _JOB_KINDS[upload.media_type]
        try:
            result = await self._render(upload, kind)
        except RejectedMedia as exc:
            await self.mark_failed(upload, str(exc))
            return False
        media = media_pb2.Media(
            type=media_pb2.MEDIA_TYPE_VIDEO
            if kind is JobKind.VIDEO
            else media_pb2.MEDIA_TYPE_PHOTO,
            width=result.width,
            height=result.height,
            aspect_ratio=result.width / result.height,
            duration_ms=result.duration_ms,
        )
        if result.placeholder:
            media.placeholder.blurhash = result.placeholder.blurhash
            media.placeholder.color = result.placeholder.color
        media.renditions.extend(await self._store_renditions(upload, result))
        # Announce first, then record: a crash in between re-announces (idempotent downstream).
        await self._events.media_processed(upload, media)
        if kind is not JobKind.PHOTO:
            await self._finish(upload, media)
            return False
        if await self._store.mark_published(upload_id, media.SerializeToString()):
            return True
        await self._deleted_meanwhile(upload, media)
        return False

    async def _enhance(self, upload_id: int) -> None:
        upload = await self._started(upload_id, UploadState.PUBLISHED)
        if upload is None or upload.media is None:
            return
        media = media_pb2.Media.FromString(upload.media)
        try:
            result = await self._render(upload, JobKind.AVIF)
        except RejectedMedia as exc:  # JPEG and WebP stay; the post is fine without AVIF
            log.warning("no AVIF for upload %s: %s", upload_id, exc)
        else:
            media.renditions.extend(await self._store_renditions(upload, result))
            await self._events.media_updated(upload, media)
        await self._finish(upload, media)

    async def _started(self, upload_id: int, state: UploadState) -> Upload | None:
        """The upload if it is in `state`, its attempt counted; None when there is nothing
        to do, or when its attempts are used up (then it fails)."""
        upload = await self._store.get(upload_id)
        if upload is None or upload.state is not state:
            return None
        if upload.attempts >= self._policy.max_attempts:
            if state is UploadState.PUBLISHED:
                await self._finish(upload, media_pb2.Media.FromString(upload.media or b""))
            else:
                await self.mark_failed(
                    upload,
                    f"processing stopped unfinished {upload.attempts} times; "
                    "upload the file again in a new post",
                )
            return None
        await self._store.record_attempt(upload_id, upload.attempts + 1)
        return upload

    async def _render(self, upload: Upload, kind: JobKind) -> RenderResult:
        out_dir = await self._files.work_dir(upload.upload_id)
        source: Path | None
        if kind is JobKind.AVIF and (decoded := await self._files.decoded(upload.upload_id)):
            # The photo job's decoded image: a 12 MP JPEG is not decoded a second time.
            source, content_type = decoded, DECODED_TYPE
        else:
            source = await self._files.fetch_original(upload.upload_id, out_dir)
            content_type = upload.content_type
        try:
            if source is None:
                raise RejectedMedia("the uploaded file is gone; upload it again in a new post")
            result = await self._processor.render(kind, source, content_type, out_dir)
        except RejectedMedia:
            await self._files.discard_work(upload.upload_id)
            raise
        if kind is JobKind.PHOTO:
            await self._files.keep_decoded(upload.upload_id, out_dir / DECODED_NAME)
        return result

    async def _store_renditions(
        self, upload: Upload, result: RenderResult
    ) -> list[media_pb2.Rendition]:
        files = result.renditions
        digests = await asyncio.gather(*(self._files.rendition_digest(f.path) for f in files))
        names = [f"{d}.{file.extension}" for d, file in zip(digests, files, strict=True)]
        # Claimed before stored: a deletion of the same content running now keeps them.
        await self._renditions.claim(upload.upload_id, names)
        await asyncio.gather(
            *(
                self._files.put_rendition(file.path, digest, file.extension, file.content_type)
                for digest, file in zip(digests, files, strict=True)
            )
        )
        renditions = []
        for digest, file in zip(digests, files, strict=True):
            renditions.append(
                media_pb2.Rendition(
                    size=media_pb2.RenditionSize.Value(f"RENDITION_SIZE_{file.size}"),
                    content_type=file.content_type,
                    width=file.width,
                    height=file.height,
                    url=f"{self._policy.public_base}/media/{digest}.{file.extension}",
                )
            )
        return renditions

    async def _finish(self, upload: Upload, media: media_pb2.Media) -> None:
        if not await self._store.mark_processed(upload.upload_id, media.SerializeToString()):
            await self._deleted_meanwhile(upload, media)
            return
        await self._files.discard_work(upload.upload_id)
        if upload.sha256:
            await self._store.remember_content(content_key(upload), media.SerializeToString())

    async def _deleted_meanwhile(self, upload: Upload, media: media_pb2.Media) -> None:
        """The post was deleted while its media was being made: what was made is released
        (the deletion released only what had been recorded before it)."""
        log.info("upload %s was deleted while processing; releasing its media", upload.upload_id)
        await self._files.discard_work(upload.upload_id)
        await self._renditions.release(upload, media)

    async def _reusable(self, upload: Upload) -> media_pb2.Media | None:
        """The media of an earlier identical upload, if every rendition it names is intact."""
        if not upload.sha256:
            return None
        known = await self._store.media_for_content(content_key(upload))
        if known is None:
            return None
        media = media_pb2.Media.FromString(known)
        # Claimed before checked: a deletion of them running now either keeps them or is
        # seen here as missing.
        names = names_of(media)
        await self._renditions.claim(upload.upload_id, names)
        for name in names:
            digest, _, extension = name.partition(".")
            if not await self._files.verify_rendition(digest, extension):
                log.warning("stored rendition %s is missing or damaged; reprocessing", name)
                await self._store.drop_rendition_refs(upload.upload_id, names)
                return None
        log.info("upload %s is a copy of known content; reusing its renditions", upload.upload_id)
        return media

    async def _drain(
        self, queue: asyncio.Queue[_Queued], work: Callable[[int], Coroutine[Any, Any, None]]
    ) -> None:
        while True:
            upload_id, queued_in = await queue.get()
            self._queued.discard(upload_id)
            try:
                # In the context it was queued in: its processing stays in the trace of the
                # request that delivered the upload (common/tracing.py).
                await asyncio.create_task(work(upload_id), context=queued_in)
            except Exception:
                log.exception("upload %s: work stopped; the reconciler will retry", upload_id)
            finally:
                queue.task_done()

    def _queue_once(self, queue: asyncio.Queue[_Queued], upload_id: int) -> None:
        if upload_id not in self._queued:
            self._queued.add(upload_id)
            queue.put_nowait((upload_id, contextvars.copy_context()))


# An upload owed work, and the context it was queued in.
_Queued = tuple[int, contextvars.Context]
# What each kind of upload is rendered as.
_JOB_KINDS = {"PHOTO": JobKind.PHOTO, "VIDEO": JobKind.VIDEO, "AVATAR": JobKind.AVATAR}

"""Wiring of media_svc: settings -> stores -> domain -> servicer, HTTP app -> server."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict

from aiohttp import web
from photoshare.events.v1 import events_pb2
from photoshare.media.v1 import media_pb2, media_service_pb2, media_service_pb2_grpc

from common.backends import event_log as event_log_for
from common.events.base import EventPublisher
from common.events.codec import publish_event
from common.server import ServiceApp, configure_logging, serve
from common.settings import Settings
from common.signing import Signer, load_secret
from media_svc.http import make_app
from media_svc.imaging import ImageLimits
from media_svc.pool import ProcessPool
from media_svc.processing import PooledProcessor
from media_svc.publishing import Publisher, PublishPolicy
from media_svc.service import MediaServicer
from media_svc.storage import make_upload_store
from media_svc.storage.files import FileBlobStore
from media_svc.uploads import UploadPolicy, Uploads
from media_svc.video import VideoLimits

SERVICE_NAME = media_service_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name
SWEEP_INTERVAL_S = 60.0


class EventMediaEvents:
    """MediaEvents on the event log."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def media_processed(self, post_id: int, author_id: int, media: media_pb2.Media) -> None:
        processed = events_pb2.MediaProcessed(post_id=post_id, author_id=author_id, media=media)
        await publish_event(self._publisher, events_pb2.Event(media_processed=processed))

    async def media_updated(self, post_id: int, author_id: int, media: media_pb2.Media) -> None:
        updated = events_pb2.MediaUpdated(post_id=post_id, author_id=author_id, media=media)
        await publish_event(self._publisher, events_pb2.Event(media_updated=updated))

    async def media_failed(self, post_id: int, author_id: int, reason: str) -> None:
        failed = events_pb2.MediaFailed(post_id=post_id, author_id=author_id, reason=reason)
        await publish_event(self._publisher, events_pb2.Event(media_failed=failed))


class HttpListener:
    """The aiohttp site for uploads and media, opened and closed with the service."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host, self._port = host, port

    async def open(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def close(self) -> None:
        await self._runner.cleanup()


def build(settings: Settings) -> ServiceApp:
    store = make_upload_store(settings)
    blobs = FileBlobStore(settings.data_dir)
    event_log = event_log_for(settings)
    secret = load_secret(settings.secret, settings.data_dir)
    pool = ProcessPool(
        [sys.executable, "-m", "media_svc.worker", json.dumps(worker_config(settings))],
        size=settings.media_workers,
        memory_bytes=settings.media_worker_memory_mb * 1024 * 1024,
    )
    timeouts = {
        "photo": settings.photo_timeout_s,
        "avif": settings.photo_timeout_s * 2,
        "video": settings.video_timeout_s,
    }
    publisher = Publisher(
        store,
        blobs,
        PooledProcessor(pool, timeouts),
        EventMediaEvents(event_log),
        PublishPolicy(
            settings.public_media_base,
            stale_after_ms=int(2 * max(timeouts.values()) * 1000),
        ),
    )
    policy = UploadPolicy(
        settings.public_media_base,
        settings.upload_url_ttl_s,
        settings.max_upload_bytes,
        settings.max_video_bytes,
    )
    uploads = Uploads(store, blobs, publisher, Signer(secret, purpose="upload-url"), policy)
    servicer = MediaServicer(uploads)
    http = HttpListener(
        make_app(
            uploads, blobs, max_upload_bytes=max(policy.max_photo_bytes, policy.max_video_bytes)
        ),
        settings.host,
        settings.media_http_port,
    )

    async def sweep() -> None:
        """Fails uploads that expired unfinished; takes over work whose processing died."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            await publisher.expire_stale()
            await publisher.reconcile()

    async def process() -> None:
        await publisher.expire_stale()
        await publisher.resume()
        await asyncio.gather(
            publisher.run_enhancing(),
            *(publisher.run_processing() for _ in range(settings.media_workers)),
        )

    return ServiceApp(
        service_names=(SERVICE_NAME,),
        registrations=(
            lambda server: media_service_pb2_grpc.add_MediaServiceServicer_to_server(
                servicer, server
            ),
        ),
        resources=(store, event_log, pool, http),
        workers=(process, sweep),
    )


def worker_config(settings: Settings) -> dict[str, dict[str, float]]:
    """The limits a worker process applies, as JSON for its command line."""
    image = ImageLimits(settings.max_image_pixels, settings.max_image_side)
    video = VideoLimits(
        max_duration_s=settings.max_video_seconds,
        timeout_s=settings.video_timeout_s / 2,  # two ffmpeg runs per clip
        cpu_s=int(settings.video_timeout_s * 2),
    )
    return {"image": asdict(image), "video": asdict(video)}


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    await serve(build(settings), settings.media_addr)

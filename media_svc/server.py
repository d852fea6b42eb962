"""Wiring of media_svc: settings -> stores -> domain -> servicer, HTTP app -> server."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

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
from media_svc.imaging import ImageLimits, PhotoRenderer, lock_down
from media_svc.service import MediaServicer
from media_svc.storage import make_upload_store
from media_svc.storage.files import FileBlobStore
from media_svc.uploads import UploadPolicy, Uploads

SERVICE_NAME = media_service_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name
EXPIRY_SWEEP_S = 60.0


class EventMediaEvents:
    """MediaEvents on the event log."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def media_processed(self, post_id: int, author_id: int, media: media_pb2.Media) -> None:
        processed = events_pb2.MediaProcessed(post_id=post_id, author_id=author_id, media=media)
        await publish_event(self._publisher, events_pb2.Event(media_processed=processed))

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
    lock_down()
    store = make_upload_store(settings)
    blobs = FileBlobStore(settings.data_dir)
    event_log = event_log_for(settings)
    secret = load_secret(settings.secret, settings.data_dir)
    renderer = PhotoRenderer(ImageLimits(settings.max_image_pixels, settings.max_image_side))
    executor = ThreadPoolExecutor(settings.media_workers, thread_name_prefix="vips")
    policy = UploadPolicy(
        settings.public_media_base, settings.upload_url_ttl_s, settings.max_upload_bytes
    )
    uploads = Uploads(
        store,
        blobs,
        renderer,
        EventMediaEvents(event_log),
        Signer(secret, purpose="upload-url"),
        policy,
        executor,
    )
    servicer = MediaServicer(uploads)
    http = HttpListener(
        make_app(uploads, max_upload_bytes=settings.max_upload_bytes),
        settings.host,
        settings.media_http_port,
    )

    async def sweep_expired() -> None:
        while True:
            await uploads.expire_stale()
            await asyncio.sleep(EXPIRY_SWEEP_S)

    async def process() -> None:
        await uploads.resume()
        await asyncio.gather(*(uploads.run_processing() for _ in range(settings.media_workers)))

    return ServiceApp(
        service_names=(SERVICE_NAME,),
        registrations=(
            lambda server: media_service_pb2_grpc.add_MediaServiceServicer_to_server(
                servicer, server
            ),
        ),
        resources=(store, event_log, http),
        workers=(process, sweep_expired),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    await serve(build(settings), settings.media_addr)

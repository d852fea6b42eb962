"""Wiring of media_svc: settings -> stores -> domain -> servicer, HTTP app -> server."""

from __future__ import annotations

import sys

from photoshare.media.v1 import media_service_pb2, media_service_pb2_grpc

from common.backends import event_log as event_log_for
from common.events.base import consumer
from common.logs import configure_logging
from common.mesh_auth import MeshCredentials
from common.metrics import Metrics
from common.server import ServiceApp, serve
from common.settings import Settings
from common.signing import Signer, load_secret
from common.tracing import configure_tracing, http_middleware
from media_svc.claims import ProcessName
from media_svc.decoding.contract import ImageLimits, JobKind, VideoLimits, WorkerLimits
from media_svc.events import MediaEventHandler, MediaEventPublisher
from media_svc.http import HttpListener, make_app
from media_svc.media_files import MediaFiles
from media_svc.pipeline import MediaPipeline, PipelinePolicy
from media_svc.pool import ProcessPool
from media_svc.processing import WORKER_MODULE, MeasuredProcessor, PooledProcessor
from media_svc.renditions import Renditions
from media_svc.service import MediaServicer
from media_svc.storage import make_object_store, make_upload_store
from media_svc.uploads import UploadPolicy, Uploads

SERVICE_NAME = media_service_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name


def build(settings: Settings) -> ServiceApp:
    secret = load_secret(settings.secret, settings.data_dir)
    credentials = MeshCredentials(secret)
    metrics = Metrics()
    traces = configure_tracing(settings, "media_svc")
    store = make_upload_store(settings)
    objects = make_object_store(settings)
    # One name per replica, kept across its restarts: its scratch folder (emptied when it
    # starts again) and its claims (an earlier run's are taken over at once).
    process = ProcessName(settings.instance_id or "media")
    files = MediaFiles(objects, settings.data_dir / "scratch" / process.instance)
    event_log = event_log_for(settings, owner="media", metrics=metrics)
    pool = ProcessPool(
        [sys.executable, "-m", WORKER_MODULE, worker_limits(settings).to_json()],
        size=settings.media_workers,
        memory_bytes=settings.media_worker_memory_mb * 1024 * 1024,
    )
    busy = metrics.gauge("media_workers_busy", "Media worker processes running a job now.")
    busy.set_function(pool.busy)
    metrics.gauge("media_workers", "Media worker processes.").set(pool.size)
    timeouts = {
        JobKind.PHOTO: settings.photo_timeout_s,
        JobKind.AVATAR: settings.photo_timeout_s,
        JobKind.AVIF: settings.photo_timeout_s * 2,
        JobKind.VIDEO: settings.video_timeout_s,
    }
    events = MediaEventPublisher(event_log)
    renditions = Renditions(store, files, events)
    pipeline = MediaPipeline(
        store,
        files,
        renditions,
        MeasuredProcessor(PooledProcessor(pool, timeouts), metrics),
        events,
        PipelinePolicy(settings.public_media_base),
        process,
    )
    policy = UploadPolicy(
        settings.public_media_base,
        settings.upload_url_ttl_s,
        settings.max_upload_bytes,
        settings.max_video_bytes,
        max_open_uploads=settings.abuse_limit(settings.max_open_uploads),
        max_open_upload_bytes=settings.abuse_limit(settings.max_open_upload_bytes),
    )
    uploads = Uploads(
        store, files, pipeline, renditions, Signer(secret, purpose="upload-url"), policy, process
    )
    servicer = MediaServicer(uploads)
    http = HttpListener(
        make_app(
            uploads,
            files,
            max_upload_bytes=max(policy.max_photo_bytes, policy.max_video_bytes),
            origins=settings.allowed_origins,
            metrics=metrics,
            traced=http_middleware(traces, settings.trace_sample_ratio),
        ),
        settings.host,
        settings.media_http_port,
        max_connections_per_address=settings.abuse_limit(settings.max_connections_per_address),
        reuse_port=settings.http_reuse_port,
    )
    return ServiceApp(
        service_names=(SERVICE_NAME,),
        credentials=credentials,
        metrics=metrics,
        tracing=traces,
        metrics_at=(settings.host, settings.metrics_port),
        reflection=settings.grpc_reflection,
        registrations=(
            lambda server: media_service_pb2_grpc.add_MediaServiceServicer_to_server(
                servicer, server
            ),
        ),
        resources=(
            store,
            objects,
            files,
            event_log,
            pool,
            http,
        ),
        workers=(
            lambda: pipeline.run(processing_workers=settings.media_workers),
            lambda: pipeline.run_sweeps(settings.media_sweep_s),
            consumer(event_log, MediaEventHandler(uploads), metrics),
        ),
    )


def worker_limits(settings: Settings) -> WorkerLimits:
    """The limits every worker process applies."""
    return WorkerLimits(
        ImageLimits(settings.max_image_pixels, settings.max_image_side),
        VideoLimits(
            max_duration_s=settings.max_video_seconds,
            timeout_s=settings.video_timeout_s / 2,  # two ffmpeg runs per clip
            cpu_s=int(settings.video_timeout_s * 2),
        ),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    await serve(build(settings), settings.listen_address(settings.media_addr))

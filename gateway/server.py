"""Wiring of the gateway: channels to every service, routes from their descriptors, and the
tail of revocations that keeps its token cache honest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from photoshare.feed.v1 import feed_service_pb2
from photoshare.graph.v1 import graph_service_pb2
from photoshare.media.v1 import media_service_pb2
from photoshare.post.v1 import post_service_pb2

from common.backends import event_tail, redis_client
from common.http import listen, runner
from common.logs import configure_logging
from common.mesh_auth import MeshCredentials
from common.metrics import Metrics, MetricsListener
from common.server import insecure_channel
from common.settings import Settings, origin_of
from common.signing import load_secret
from common.tracing import configure_tracing, http_middleware
from gateway.app import Gateway, cors_policy
from gateway.auth import TokenResolver
from gateway.events import follow_users
from gateway.limits import BucketStore, InMemoryBuckets, RateLimiter
from gateway.openapi import CHECKOUT_SWAGGER_UI, Docs, complete, generated_document
from gateway.routes import routes_for
from gateway.webapp import CHECKOUT_WEB_APP, WebApp

log = logging.getLogger(__name__)
# The services whose annotated RPCs the gateway serves.
GRAPH, POST, MEDIA, FEED = (
    graph_service_pb2.DESCRIPTOR.services_by_name["GraphService"],
    post_service_pb2.DESCRIPTOR.services_by_name["PostService"],
    media_service_pb2.DESCRIPTOR.services_by_name["MediaService"],
    feed_service_pb2.DESCRIPTOR.services_by_name["FeedService"],
)
PUBLIC_SERVICES = (GRAPH, POST, MEDIA, FEED)


def build(
    settings: Settings, metrics: Metrics, traces: TracerProvider | None = None
) -> tuple[Gateway, TokenResolver, RateLimiter]:
    addresses = {
        GRAPH: settings.graph_addr,
        POST: settings.post_addr,
        MEDIA: settings.media_addr,
        FEED: settings.feed_addr,
    }
    # The gateway proves to every service that it is one of the mesh (common/mesh_auth.py).
    credentials = MeshCredentials(load_secret(settings.secret, settings.data_dir))
    channels = {
        service.full_name: insecure_channel(address, credentials, metrics, traces)
        for service, address in addresses.items()
    }
    tokens = TokenResolver(
        channels["photoshare.graph.v1.GraphService"], timeout_s=settings.rpc_timeout_s
    )
    limiter = RateLimiter(_buckets(settings), scale=settings.rate_limit_scale)
    routes = routes_for(addresses)
    document = complete(generated_document(), routes, settings.public_media_base)
    assets = Path(settings.docs_assets_dir) if settings.docs_assets_dir else CHECKOUT_SWAGGER_UI
    docs = Docs(document, assets)
    web_app = WebApp(
        Path(settings.web_app_dir) if settings.web_app_dir else CHECKOUT_WEB_APP,
        media_origin=origin_of(settings.public_media_base),
    )
    gateway = Gateway(
        routes,
        channels,
        tokens,
        limiter,
        timeout_s=settings.rpc_timeout_s,
        cors=cors_policy(settings.allowed_origins),
        metrics=metrics,
        docs=docs,
        web_app=web_app,
        traced=http_middleware(traces, settings.trace_sample_ratio),
        heartbeat_s=settings.stream_heartbeat_s,
    )
    return gateway, tokens, limiter


def _buckets(settings: Settings) -> BucketStore:
    """Shared by every gateway process in production; one process's own when embedded."""
    if settings.production:
        from gateway.redis_limits import RedisBuckets

        return RedisBuckets(redis_client(settings, "rate limits"), prefix=settings.redis_prefix)
    return InMemoryBuckets()


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    metrics = Metrics()
    traces = configure_tracing(settings, "gateway")
    listener = MetricsListener(metrics, settings.host, settings.metrics_port)
    await listener.open()
    gateway, tokens, limiter = build(settings, metrics, traces)
    events = event_tail(settings)
    await events.open()
    revocations = asyncio.create_task(follow_users(events, tokens, limiter))
    site_runner = runner(
        gateway.app(),
        max_connections_per_address=settings.abuse_limit(settings.max_connections_per_address),
    )
    await site_runner.setup()
    # Replicas share the port: the kernel spreads new connections over them.
    await listen(
        site_runner, settings.host, settings.http_port, reuse_port=settings.http_reuse_port
    )
    log.info("gateway listening on http://%s:%d", settings.host, settings.http_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await site_runner.cleanup()
    revocations.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await revocations
    await events.close()
    await listener.close()

"""Wiring of post_svc: settings -> stores -> domain -> servicer -> server."""

from __future__ import annotations

from photoshare.post.v1 import (
    post_internal_service_pb2,
    post_internal_service_pb2_grpc,
    post_service_pb2,
    post_service_pb2_grpc,
)

from common.backends import event_log as event_log_for
from common.backends import worker_id as worker_id_for
from common.events.base import consumer
from common.ids import IdGenerator
from common.logs import configure_logging
from common.mesh_auth import MeshCredentials
from common.metrics import Metrics
from common.server import ServiceApp, insecure_channel, serve
from common.settings import Settings
from common.signing import Signer, load_secret
from common.tracing import configure_tracing
from post_svc.authors import Authors
from post_svc.clients import MediaUploadsClient, UserDirectoryClient
from post_svc.deletion import PostDeletion
from post_svc.engagement import Engagement
from post_svc.events import (
    EngagementEventPublisher,
    PostEventPublisher,
    PostServiceEventHandler,
)
from post_svc.posts import Posts
from post_svc.service import PostServicer
from post_svc.storage import (
    make_author_cache,
    make_engagement_store,
    make_liked_cache,
    make_post_store,
    make_stats_store,
)

SERVICE_NAME = post_service_pb2.DESCRIPTOR.services_by_name["PostService"].full_name
INTERNAL_SERVICE_NAME = post_internal_service_pb2.DESCRIPTOR.services_by_name[
    "PostInternalService"
].full_name


def build(settings: Settings) -> ServiceApp:
    secret = load_secret(settings.secret, settings.data_dir)
    credentials = MeshCredentials(secret)
    metrics = Metrics()
    traces = configure_tracing(settings, "post_svc")
    store = make_post_store(settings)
    event_log = event_log_for(settings, owner="posts", metrics=metrics)
    media = MediaUploadsClient(
        insecure_channel(settings.media_addr, credentials, metrics, traces),
        timeout_s=settings.rpc_timeout_s,
    )
    engagement_store = make_engagement_store(settings)
    stats = make_stats_store(settings)
    worker = worker_id_for(settings, owner="post_svc")
    ids = IdGenerator(worker)
    post_events = PostEventPublisher(event_log)
    posts = Posts(store, media, post_events, ids, Signer(secret, purpose="post-cursor"))
    deletion = PostDeletion(posts, store, engagement_store, stats, post_events, media)
    liked_cache = make_liked_cache(settings)
    engagement = Engagement(
        store,
        engagement_store,
        stats,
        liked_cache,
        EngagementEventPublisher(event_log),
        ids,
        Signer(secret, purpose="likes-page"),
        Signer(secret, purpose="comments-page"),
    )
    author_cache = make_author_cache(settings)
    authors = Authors(
        UserDirectoryClient(
            insecure_channel(settings.graph_addr, credentials, metrics, traces),
            timeout_s=settings.rpc_timeout_s,
        ),
        author_cache,
        metrics.cache("authors"),
    )
    servicer = PostServicer(posts, engagement, authors, deletion)

    return ServiceApp(
        service_names=(SERVICE_NAME, INTERNAL_SERVICE_NAME),
        credentials=credentials,
        metrics=metrics,
        tracing=traces,
        metrics_at=(settings.host, settings.metrics_port),
        reflection=settings.grpc_reflection,
        registrations=(
            lambda server: post_service_pb2_grpc.add_PostServiceServicer_to_server(
                servicer, server
            ),
            # The RPCs only other services call, under a service of their own.
            lambda server: post_internal_service_pb2_grpc.add_PostInternalServiceServicer_to_server(
                servicer, server
            ),
        ),
        # The worker id last (see graph_svc/server.py).
        resources=(
            store,
            engagement_store,
            stats,
            liked_cache,
            author_cache,
            event_log,
            worker,
        ),
        workers=(
            worker.keep,
            # One consumer for media, engagement and profile events: each one costs the
            # process a Kafka consumer, and their work is light.
            consumer(
                event_log, PostServiceEventHandler(posts, engagement, authors, deletion), metrics
            ),
        ),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    await serve(build(settings), settings.listen_address(settings.post_addr))

"""Wiring of feed_svc: settings -> stores and clients -> domain -> servicer -> server."""

from __future__ import annotations

from photoshare.feed.v1 import (
    feed_internal_service_pb2,
    feed_internal_service_pb2_grpc,
    feed_service_pb2,
    feed_service_pb2_grpc,
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
from feed_svc.caching import CachedPosts
from feed_svc.clients import GraphClient, PostClient
from feed_svc.events import (
    FeedEventHandler,
    NotificationEventHandler,
    NotificationEventPublisher,
    follow_live_events,
)
from feed_svc.fanout import Fanout, FanoutPolicy
from feed_svc.feed import FeedPolicy, HomeFeed, TimelineCounters
from feed_svc.live import StreamPositions
from feed_svc.live_feed import LiveHomeFeed
from feed_svc.live_notifications import LiveNotifications
from feed_svc.notifications import Notifications
from feed_svc.service import FeedServicer
from feed_svc.storage import (
    make_notification_store,
    make_post_cache,
    make_pulled_authors,
    make_timeline_store,
)
from feed_svc.streams import StreamHub
from feed_svc.threshold import AdaptiveThreshold, ThresholdPolicy

SERVICE_NAME = feed_service_pb2.DESCRIPTOR.services_by_name["FeedService"].full_name
INTERNAL_SERVICE_NAME = feed_internal_service_pb2.DESCRIPTOR.services_by_name[
    "FeedInternalService"
].full_name
STREAM_TIMEOUT_S = 30.0


def build(settings: Settings) -> ServiceApp:
    secret = load_secret(settings.secret, settings.data_dir)
    credentials = MeshCredentials(secret)
    metrics = Metrics()
    traces = configure_tracing(settings, "feed_svc")
    store = make_timeline_store(settings)
    author_timelines = make_timeline_store(settings, kind="atl")
    pulled = make_pulled_authors(settings)
    post_cache = make_post_cache(settings)
    event_log = event_log_for(settings, owner="feed", metrics=metrics)
    graph = GraphClient(
        insecure_channel(settings.graph_addr, credentials, metrics, traces),
        timeout_s=settings.rpc_timeout_s,
        stream_timeout_s=STREAM_TIMEOUT_S,
    )
    posts = CachedPosts(
        PostClient(
            insecure_channel(settings.post_addr, credentials, metrics, traces),
            timeout_s=settings.rpc_timeout_s,
            stream_timeout_s=STREAM_TIMEOUT_S,
        ),
        post_cache,
        metrics.cache("feed_posts"),
    )
    threshold = ThresholdPolicy(
        start=settings.celebrity_threshold,
        minimum=settings.celebrity_threshold_min,
        maximum=settings.celebrity_threshold_max,
        write_budget=settings.fanout_write_budget,
    )
    fanout_writes = metrics.counter(
        "fanout_timeline_writes_total", "Timelines that fan-out pushed a published post to."
    )
    feed = HomeFeed(
        store,
        author_timelines,
        pulled,
        graph,
        posts,
        Signer(secret, purpose="feed-cursor"),
        FeedPolicy(threshold.pull_candidates_from, settings.timeline_max_len),
        TimelineCounters(
            home=metrics.cache("home_timelines"), author=metrics.cache("author_timelines")
        ),
    )
    fanout = Fanout(
        store,
        author_timelines,
        pulled,
        graph,
        posts,
        AdaptiveThreshold(threshold),
        FanoutPolicy(
            follow_backfill=settings.follow_backfill, backfill_limit=settings.timeline_max_len
        ),
    )
    notification_store = make_notification_store(settings)
    # Notification positions are ids of their own, minted here.
    worker = worker_id_for(settings, owner="feed_svc")
    notifications = Notifications(
        notification_store,
        graph,
        posts,
        IdGenerator(worker),
        Signer(secret, purpose="notifications-page"),
        events=NotificationEventPublisher(event_log),
    )
    # The readers' live feeds open on this process, fed by its own tail of the log (ADR 14).
    hub = StreamHub()
    live = LiveHomeFeed(
        feed, hub, graph, posts, StreamPositions(Signer(secret, purpose="feed-stream"))
    )
    live_notifications = LiveNotifications(
        notifications, hub, StreamPositions(Signer(secret, purpose="notifications-stream"))
    )
    servicer = FeedServicer(feed, live, notifications, live_notifications)

    return ServiceApp(
        service_names=(SERVICE_NAME, INTERNAL_SERVICE_NAME),
        credentials=credentials,
        metrics=metrics,
        tracing=traces,
        metrics_at=(settings.host, settings.metrics_port),
        reflection=settings.grpc_reflection,
        registrations=(
            lambda server: feed_service_pb2_grpc.add_FeedServiceServicer_to_server(
                servicer, server
            ),
            # The RPCs only other services call, under a service of their own.
            lambda server: feed_internal_service_pb2_grpc.add_FeedInternalServiceServicer_to_server(
                servicer, server
            ),
        ),
        # The worker id last (see graph_svc/server.py).
        resources=(
            store,
            author_timelines,
            pulled,
            post_cache,
            notification_store,
            event_log,
            worker,
        ),
        workers=(
            worker.keep,
            consumer(event_log, FeedEventHandler(fanout, posts, fanout_writes.inc), metrics),
            consumer(event_log, NotificationEventHandler(notifications), metrics),
            lambda: follow_live_events(event_log, hub),
        ),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    await serve(build(settings), settings.listen_address(settings.feed_addr))

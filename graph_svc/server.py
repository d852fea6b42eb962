"""Wiring of graph_svc: settings -> stores -> domain -> servicer -> server."""

from __future__ import annotations

from photoshare.graph.v1 import (
    graph_internal_service_pb2,
    graph_internal_service_pb2_grpc,
    graph_service_pb2,
    graph_service_pb2_grpc,
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
from graph_svc.caching import CachedFollowing
from graph_svc.clients import (
    AvatarUploadsClient,
    FeedEraserClient,
    MediaEraserClient,
    PostEraserClient,
)
from graph_svc.erasure import ErasurePolicy, Erasures
from graph_svc.events import GraphEventHandler, GraphEventPublisher
from graph_svc.graph import Graph
from graph_svc.passwords import Argon2Passwords
from graph_svc.service import GraphServicer
from graph_svc.sessions import Sessions
from graph_svc.storage import make_following_cache, make_graph_store, make_session_store

SERVICE_NAME = graph_service_pb2.DESCRIPTOR.services_by_name["GraphService"].full_name
INTERNAL_SERVICE_NAME = graph_internal_service_pb2.DESCRIPTOR.services_by_name[
    "GraphInternalService"
].full_name


def build(settings: Settings) -> ServiceApp:
    secret = load_secret(settings.secret, settings.data_dir)
    credentials = MeshCredentials(secret)
    metrics = Metrics()
    traces = configure_tracing(settings, "graph_svc")
    store = make_graph_store(settings)
    session_store = make_session_store(settings)
    following_cache = make_following_cache(settings)
    event_log = event_log_for(settings, owner="graph", metrics=metrics)
    events = GraphEventPublisher(event_log)
    worker = worker_id_for(settings, owner="graph_svc")
    ids = IdGenerator(worker)
    sessions = Sessions(session_store, store, Argon2Passwords(), events, ids)
    following = CachedFollowing(store, following_cache, metrics.cache("following"))
    media_channel = insecure_channel(settings.media_addr, credentials, metrics, traces)
    graph = Graph(
        store,
        sessions,
        following,
        events,
        AvatarUploadsClient(media_channel, timeout_s=settings.rpc_timeout_s),
        ids,
        Signer(secret, purpose="graph-page"),
    )
    erasures = Erasures(
        store,
        sessions,
        following,
        events,
        PostEraserClient(
            insecure_channel(settings.post_addr, credentials, metrics, traces),
            timeout_s=settings.rpc_timeout_s,
        ),
        MediaEraserClient(media_channel),
        FeedEraserClient(insecure_channel(settings.feed_addr, credentials, metrics, traces)),
        ErasurePolicy(grace_ms=settings.erasure_grace_s * 1000),
    )
    servicer = GraphServicer(graph, sessions, erasures)

    return ServiceApp(
        service_names=(SERVICE_NAME, INTERNAL_SERVICE_NAME),
        credentials=credentials,
        metrics=metrics,
        tracing=traces,
        metrics_at=(settings.host, settings.metrics_port),
        reflection=settings.grpc_reflection,
        registrations=(
            lambda server: graph_service_pb2_grpc.add_GraphServiceServicer_to_server(
                servicer, server
            ),
            # The RPCs only other services call, under a service of their own.
            lambda server: (
                graph_internal_service_pb2_grpc.add_GraphInternalServiceServicer_to_server(
                    servicer, server
                )
            ),
        ),
        # The worker id last: its renewals (worker.keep) begin once every resource is open,
        # and opening the stores of a cluster (their schema agreed by every node) can outlast
        # a lease.
        resources=(
            store,
            session_store,
            following_cache,
            event_log,
            worker,
        ),
        workers=(
            worker.keep,
            consumer(event_log, GraphEventHandler(graph), metrics),
            erasures.run,
        ),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    await serve(build(settings), settings.listen_address(settings.graph_addr))

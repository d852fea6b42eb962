"""Wiring of graph_svc: settings -> stores -> domain -> servicer -> server."""

from __future__ import annotations

from photoshare.events.v1 import events_pb2
from photoshare.graph.v1 import graph_service_pb2, graph_service_pb2_grpc

from common.backends import event_log as event_log_for
from common.events.base import TOPIC_POSTS, EventPublisher, EventRecord
from common.events.codec import decode, publish_event
from common.ids import IdGenerator
from common.server import ServiceApp, configure_logging, serve
from common.settings import Settings
from common.signing import Signer, load_secret
from graph_svc.graph import Graph
from graph_svc.service import GraphServicer
from graph_svc.storage import make_graph_store

SERVICE_NAME = graph_service_pb2.DESCRIPTOR.services_by_name["GraphService"].full_name
WORKER_ID = 1


class EventFollowEvents:
    """FollowEvents on the event log."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def follow_changed(self, follower_id: int, followed_id: int, following: bool) -> None:
        change = events_pb2.FollowChanged(
            follower_id=follower_id, followed_id=followed_id, following=following
        )
        await publish_event(self._publisher, events_pb2.Event(follow_changed=change))


def build(settings: Settings) -> ServiceApp:
    store = make_graph_store(settings)
    event_log = event_log_for(settings)
    secret = load_secret(settings.secret, settings.data_dir)
    graph = Graph(
        store,
        EventFollowEvents(event_log),
        IdGenerator(WORKER_ID),
        Signer(secret, purpose="graph-page"),
    )
    servicer = GraphServicer(graph)

    async def count_post(record: EventRecord) -> None:
        event = decode(record)
        if event.WhichOneof("payload") == "post_published":
            await graph.record_post(event.post_published.author_id, event.post_published.post_id)

    return ServiceApp(
        service_names=(SERVICE_NAME,),
        registrations=(
            lambda server: graph_service_pb2_grpc.add_GraphServiceServicer_to_server(
                servicer, server
            ),
        ),
        resources=(store, event_log),
        workers=(lambda: event_log.run("graph", [TOPIC_POSTS], count_post),),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    await serve(build(settings), settings.graph_addr)

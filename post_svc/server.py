"""Wiring of post_svc: settings -> stores -> domain -> servicer -> server."""

from __future__ import annotations

from photoshare.events.v1 import events_pb2
from photoshare.post.v1 import post_service_pb2, post_service_pb2_grpc

from common.backends import event_log as event_log_for
from common.events.base import TOPIC_MEDIA, EventPublisher, EventRecord
from common.events.codec import decode, publish_event
from common.ids import IdGenerator
from common.server import ServiceApp, configure_logging, insecure_channel, serve
from common.settings import Settings
from common.signing import Signer, load_secret
from post_svc.clients import MediaUploadsClient
from post_svc.posts import Posts
from post_svc.service import PostServicer
from post_svc.storage import make_post_store

SERVICE_NAME = post_service_pb2.DESCRIPTOR.services_by_name["PostService"].full_name
WORKER_ID = 2


class EventPostEvents:
    """PostEvents on the event log."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def post_published(self, post_id: int, author_id: int, published_at_ms: int) -> None:
        event = events_pb2.Event(
            post_published=events_pb2.PostPublished(post_id=post_id, author_id=author_id)
        )
        event.post_published.published_at.FromMilliseconds(published_at_ms)
        await publish_event(self._publisher, event)

    async def post_updated(self, post_id: int, author_id: int) -> None:
        event = events_pb2.Event(
            post_updated=events_pb2.PostUpdated(post_id=post_id, author_id=author_id)
        )
        await publish_event(self._publisher, event)


def build(settings: Settings) -> ServiceApp:
    store = make_post_store(settings)
    event_log = event_log_for(settings)
    media = MediaUploadsClient(
        insecure_channel(settings.media_addr), timeout_s=settings.rpc_timeout_s
    )
    secret = load_secret(settings.secret, settings.data_dir)
    posts = Posts(
        store,
        media,
        EventPostEvents(event_log),
        IdGenerator(WORKER_ID),
        Signer(secret, purpose="post-cursor"),
    )
    servicer = PostServicer(posts)

    async def on_media(record: EventRecord) -> None:
        event = decode(record)
        kind = event.WhichOneof("payload")
        if kind == "media_processed":
            await posts.on_media_processed(
                event.media_processed.post_id, event.media_processed.media
            )
        elif kind == "media_updated":
            await posts.on_media_updated(event.media_updated.post_id, event.media_updated.media)
        elif kind == "media_failed":
            await posts.on_media_failed(event.media_failed.post_id, event.media_failed.reason)

    return ServiceApp(
        service_names=(SERVICE_NAME,),
        registrations=(
            lambda server: post_service_pb2_grpc.add_PostServiceServicer_to_server(
                servicer, server
            ),
        ),
        resources=(store, event_log),
        workers=(lambda: event_log.run("posts", [TOPIC_MEDIA], on_media),),
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    await serve(build(settings), settings.post_addr)

"""The events post_svc consumes and emits.

Consumes (`media` topic, group `posts`):
- `MediaProcessed`: the post is marked PUBLISHED with its media;
- `MediaUpdated`: a published post's media is replaced by the fuller one;
- `MediaFailed`: the post is marked FAILED with the reason.
Emits (`posts` topic, keyed by author):
- `PostPublished`: a post became visible (again on a redelivery, with its first time);
- `PostUpdated`: a published post changed (feed_svc refreshes its cached copy).
"""

from __future__ import annotations

from photoshare.events.v1 import events_pb2

from common.events.base import TOPIC_MEDIA, EventPublisher, EventRecord
from common.events.codec import decode, publish_event
from post_svc.posts import Posts


class MediaEventHandler:
    """Dispatches each media event to the post it is about.

    Example:
        workers = (consumer(event_log, MediaEventHandler(posts)),)
    """

    group = "posts"
    topics = (TOPIC_MEDIA,)

    def __init__(self, posts: Posts) -> None:
        self._posts = posts

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        match event.WhichOneof("payload"):
            case "media_processed":
                processed = event.media_processed
                await self._posts.mark_published(processed.post_id, processed.media)
            case "media_updated":
                updated = event.media_updated
                await self._posts.update_media(updated.post_id, updated.media)
            case "media_failed":
                failed = event.media_failed
                await self._posts.mark_failed(failed.post_id, failed.reason)


class PostEventPublisher:
    """The domain's PostEvents, published on the event log."""

    def __init__(self, log: EventPublisher) -> None:
        self._log = log

    async def post_published(self, post_id: int, author_id: int, published_at_ms: int) -> None:
        published = events_pb2.PostPublished(post_id=post_id, author_id=author_id)
        published.published_at.FromMilliseconds(published_at_ms)
        await publish_event(self._log, events_pb2.Event(post_published=published))

    async def post_updated(self, post_id: int, author_id: int) -> None:
        updated = events_pb2.PostUpdated(post_id=post_id, author_id=author_id)
        await publish_event(self._log, events_pb2.Event(post_updated=updated))

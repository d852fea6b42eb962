"""Events on the log are `photoshare.events.v1.Event` messages; this picks topic and key."""

from __future__ import annotations

import uuid

from photoshare.events.v1 import events_pb2

from common.events.base import (
    TOPIC_FOLLOWS,
    TOPIC_MEDIA,
    TOPIC_POSTS,
    EventPublisher,
    EventRecord,
)


def route(event: events_pb2.Event) -> tuple[str, str]:
    """(topic, key): keys keep one post's, author's or follower's events in order."""
    kind = event.WhichOneof("payload")
    if kind == "media_processed":
        return TOPIC_MEDIA, str(event.media_processed.post_id)
    if kind == "media_failed":
        return TOPIC_MEDIA, str(event.media_failed.post_id)
    if kind == "media_updated":
        return TOPIC_MEDIA, str(event.media_updated.post_id)
    if kind == "post_updated":
        return TOPIC_POSTS, str(event.post_updated.author_id)
    if kind == "post_published":
        return TOPIC_POSTS, str(event.post_published.author_id)
    if kind == "follow_changed":
        return TOPIC_FOLLOWS, str(event.follow_changed.follower_id)
    raise ValueError(f"event has no known payload: {kind!r}")


async def publish_event(publisher: EventPublisher, event: events_pb2.Event) -> None:
    if not event.event_id:
        event.event_id = uuid.uuid4().hex
    if not event.HasField("occurred_at"):
        event.occurred_at.GetCurrentTime()
    topic, key = route(event)
    await publisher.publish(topic, key, event.SerializeToString())


def decode(record: EventRecord) -> events_pb2.Event:
    return events_pb2.Event.FromString(record.value)

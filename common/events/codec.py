"""Events on the log are `photoshare.events.v1.Event` messages; this picks topic and key."""

from __future__ import annotations

import uuid

from photoshare.events.v1 import events_pb2

from common.events.base import (
    TOPIC_ENGAGEMENT,
    TOPIC_FOLLOWS,
    TOPIC_MEDIA,
    TOPIC_NOTIFICATIONS,
    TOPIC_POSTS,
    TOPIC_USERS,
    EventPublisher,
    EventRecord,
)

# Payload -> (topic, the payload field that keys it): one key's events stay in order.
_ROUTES = {
    "media_processed": (TOPIC_MEDIA, "post_id"),
    "media_failed": (TOPIC_MEDIA, "post_id"),
    "media_updated": (TOPIC_MEDIA, "post_id"),
    "media_deleted": (TOPIC_MEDIA, "upload_id"),
    "post_published": (TOPIC_POSTS, "author_id"),
    "post_updated": (TOPIC_POSTS, "author_id"),
    "post_deleted": (TOPIC_POSTS, "author_id"),
    "follow_changed": (TOPIC_FOLLOWS, "follower_id"),
    "like_created": (TOPIC_ENGAGEMENT, "post_id"),
    "like_removed": (TOPIC_ENGAGEMENT, "post_id"),
    "comment_created": (TOPIC_ENGAGEMENT, "post_id"),
    "comment_deleted": (TOPIC_ENGAGEMENT, "post_id"),
    "profile_updated": (TOPIC_USERS, "user_id"),
    "sessions_revoked": (TOPIC_USERS, "user_id"),
    "user_erased": (TOPIC_USERS, "user_id"),
    "avatar_processed": (TOPIC_MEDIA, "user_id"),
    "avatar_failed": (TOPIC_MEDIA, "user_id"),
    "notifications_changed": (TOPIC_NOTIFICATIONS, "user_id"),
}


def route(event: events_pb2.Event) -> tuple[str, str]:
    """(topic, key) of an event."""
    kind = event.WhichOneof("payload")
    if kind not in _ROUTES:
        raise ValueError(f"event has no known payload: {kind!r}")
    topic, key_field = _ROUTES[kind]
    return topic, str(getattr(getattr(event, kind), key_field))


async def publish_event(publisher: EventPublisher, event: events_pb2.Event) -> None:
    if not event.event_id:
        event.event_id = uuid.uuid4().hex
    if not event.HasField("occurred_at"):
        event.occurred_at.GetCurrentTime()
    topic, key = route(event)
    await publisher.publish(topic, key, event.SerializeToString())


def decode(record: EventRecord) -> events_pb2.Event:
    return events_pb2.Event.FromString(record.value)

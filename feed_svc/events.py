"""The events feed_svc consumes, and the one it emits.

Emitted: `NotificationsChanged` (notifications, key user id), after an entry reached the top
of a user's notifications (`NotificationEventPublisher`).

The home feed (group `feed`):
- `PostPublished` (posts): fan the post out to the author's followers' timelines.
- `PostUpdated` (posts): refresh the cached copy used to hydrate feeds.
- `PostDeleted` (posts): take the post out of the timelines it was pushed to and the cache.
- `FollowChanged` (follows): backfill a new followee's posts, or drop an old one's.
Notifications (group `notifications`, so neither waits for the other):
- `FollowChanged` (follows): the followed user is notified, or the follow taken back.
- `LikeCreated`, `LikeRemoved` (engagement): the post's author is notified (one entry per
  post), or the like taken back.
- `CommentCreated`, `CommentDeleted` (engagement): the post's author is notified, or the
  comment taken back.
- `PostDeleted` (posts): the author's entries about the post go (a like or comment event
  that arrives after it notifies nobody).
The live streams open on this process (a tail: every process sees every event, ADR 14):
- `PostPublished`, `PostDeleted` (posts): to the streams of the author and their followers.
- `FollowChanged` (follows): an open stream follows the change; an unfollow hides the author.
- `NotificationsChanged` (notifications): the user's notification streams read what is new.
"""

from __future__ import annotations

from collections.abc import Callable

from photoshare.events.v1 import events_pb2

from common.events.base import (
    TOPIC_ENGAGEMENT,
    TOPIC_FOLLOWS,
    TOPIC_NOTIFICATIONS,
    TOPIC_POSTS,
    EventPublisher,
    EventRecord,
    EventTail,
    keep_tailing,
)
from common.events.codec import decode, publish_event
from feed_svc.caching import CachedPosts
from feed_svc.fanout import Fanout
from feed_svc.models import FeedEntry
from feed_svc.notifications import Notifications
from feed_svc.streams import StreamHub


class FeedEventHandler:
    """Dispatches each consumed event to the fan-out or the hydration cache.

    Example:
        handler = FeedEventHandler(fanout, cached_posts)
        workers = (consumer(event_log, handler),)
    """

    group = "feed"
    topics = (TOPIC_POSTS, TOPIC_FOLLOWS)

    def __init__(
        self,
        fanout: Fanout,
        posts: CachedPosts,
        timeline_writes: Callable[[int], None] | None = None,
    ) -> None:
        """`timeline_writes`: told how many timelines each published post was pushed to."""
        self._fanout = fanout
        self._posts = posts
        self._timeline_writes = timeline_writes

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        match event.WhichOneof("payload"):
            case "post_published":
                written = await self._fanout.post_published(_entry(event.post_published))
                if self._timeline_writes is not None:
                    self._timeline_writes(written)
            case "post_updated":
                await self._posts.refresh([event.post_updated.post_id])
            case "post_deleted":
                deleted = event.post_deleted
                if deleted.HasField("published_at"):  # else it was in no timeline
                    await self._fanout.post_deleted(_entry(deleted))
                await self._posts.forget([deleted.post_id])
            case "follow_changed":
                change = event.follow_changed
                if change.following:
                    await self._fanout.followed(change.follower_id, change.followed_id)
                else:
                    await self._fanout.unfollowed(change.follower_id, change.followed_id)


class NotificationEventHandler:
    """Turns follows, likes and comments into notifications of the user they are for.

    Example:
        workers = (consumer(event_log, NotificationEventHandler(notifications)),)
    """

    group = "notifications"
    topics = (TOPIC_FOLLOWS, TOPIC_ENGAGEMENT, TOPIC_POSTS)

    def __init__(self, notifications: Notifications) -> None:
        self._notifications = notifications

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        event_id = event.event_id
        match event.WhichOneof("payload"):
            case "follow_changed":
                change = event.follow_changed
                if change.following:
                    await self._notifications.followed(
                        change.follower_id, change.followed_id, event_id
                    )
                else:
                    await self._notifications.unfollowed(
                        change.follower_id, change.followed_id, event_id
                    )
            case "like_created":
                like = event.like_created
                await self._notifications.liked(
                    like.post_id, like.post_author_id, like.user_id, event_id
                )
            case "like_removed":
                unliked = event.like_removed
                await self._notifications.unliked(
                    unliked.post_id, unliked.post_author_id, unliked.user_id, event_id
                )
            case "comment_created":
                comment = event.comment_created
                await self._notifications.commented(
                    comment.comment_id,
                    comment.post_id,
                    comment.post_author_id,
                    comment.author_id,
                    comment.text,
                    event_id,
                )
            case "comment_deleted":
                deleted = event.comment_deleted
                await self._notifications.comment_deleted(
                    deleted.comment_id, deleted.post_author_id, deleted.author_id, event_id
                )
            case "post_deleted":
                gone = event.post_deleted
                await self._notifications.post_deleted(gone.author_id, gone.post_id)


class LiveEventHandler:
    """Hands the tailed posts and follows to this process's open streams.

    Example:
        await event_tail.tail(LiveEventHandler.topics, LiveEventHandler(hub), ready)
    """

    topics = (TOPIC_POSTS, TOPIC_FOLLOWS, TOPIC_NOTIFICATIONS)

    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        match event.WhichOneof("payload"):
            case "post_published":
                self._hub.post_published(_entry(event.post_published))
            case "post_deleted":
                deleted = event.post_deleted
                if deleted.HasField("published_at"):  # else no feed ever showed it
                    self._hub.post_deleted(_entry(deleted))
            case "follow_changed":
                change = event.follow_changed
                if change.following:
                    self._hub.followed(change.follower_id, change.followed_id)
                else:
                    self._hub.unfollowed(change.follower_id, change.followed_id)
            case "notifications_changed":
                self._hub.notifications_changed(event.notifications_changed.user_id)


class NotificationEventPublisher:
    """Tells every feed_svc process that a user's notifications changed."""

    def __init__(self, log: EventPublisher) -> None:
        self._log = log

    async def changed(self, recipient_id: int) -> None:
        changed = events_pb2.NotificationsChanged(user_id=recipient_id)
        await publish_event(self._log, events_pb2.Event(notifications_changed=changed))


async def follow_live_events(log_tail: EventTail, hub: StreamHub) -> None:
    """Tails posts, follows and notification changes into the hub until cancelled. When the
    tail fails (the broker is down), the open streams are ended, their clients resume from
    their last event ids once it runs again, and nothing is missed."""
    await keep_tailing(
        log_tail,
        LiveEventHandler.topics,
        LiveEventHandler(hub),
        ready=hub.receiving,
        stopped=hub.interrupt,
        what="the live feed (its open streams were ended)",
    )


def _entry(post: events_pb2.PostPublished | events_pb2.PostDeleted) -> FeedEntry:
    """The timeline entry of a published post (the one fan-out pushed)."""
    return FeedEntry(post.published_at.ToMilliseconds(), post.post_id, post.author_id)

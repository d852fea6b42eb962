"""The events graph_svc consumes and emits.

Consumes (group `graph`), from the `posts` topic:
- `PostPublished`: the author's post count goes up, once per post;
- `PostDeleted`: and down again, once;
from the `media` topic:
- `AvatarProcessed`: the user's avatar, unless a later upload already is;
- `AvatarFailed`: why the user's latest avatar upload could not be used;
from the `follows` topic (its own):
- `FollowChanged`: the follower's following cache is invalidated again (it may have been
  down when the call answered; the event waits until it is back).
Emits (`follows` topic, keyed by follower):
- `FollowChanged`: an edge appeared or went away (also on a retried call, to repair a lost
  event); feed_svc backfills or drops the followee's posts.
Emits (`users` topic, keyed by user):
- `ProfileUpdated`: a display name, bio or avatar changed.
- `SessionsRevoked`: sessions were signed out; every gateway drops their tokens.
- `UserErased`: an account's erasure began; post_svc drops its cached summary.
"""

from __future__ import annotations

from collections.abc import Sequence

from photoshare.events.v1 import events_pb2

from common.events.base import (
    TOPIC_FOLLOWS,
    TOPIC_MEDIA,
    TOPIC_POSTS,
    EventPublisher,
    EventRecord,
)
from common.events.codec import decode, publish_event
from graph_svc.graph import Graph
from graph_svc.models import User


class GraphEventHandler:
    """Counts published posts on their authors, sets processed avatars on their users and
    settles the following cache after follows.

    Example:
        workers = (consumer(event_log, GraphEventHandler(graph)),)
    """

    group = "graph"
    topics = (TOPIC_POSTS, TOPIC_MEDIA, TOPIC_FOLLOWS)

    def __init__(self, graph: Graph) -> None:
        self._graph = graph

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        match event.WhichOneof("payload"):
            case "post_published":
                published = event.post_published
                await self._graph.record_post(published.author_id, published.post_id)
            case "avatar_processed":
                processed = event.avatar_processed
                await self._graph.avatar_processed(
                    processed.user_id, processed.upload_id, processed.avatar
                )
            case "avatar_failed":
                failed = event.avatar_failed
                await self._graph.avatar_failed(failed.user_id, failed.upload_id, failed.reason)
            case "follow_changed":
                await self._graph.follow_settled(event.follow_changed.follower_id)
            case "post_deleted":
                deleted = event.post_deleted
                await self._graph.unrecord_post(deleted.author_id, deleted.post_id)


class GraphEventPublisher:
    """The domain's GraphEvents, published on the event log."""

    def __init__(self, log: EventPublisher) -> None:
        self._log = log

    async def follow_changed(self, follower_id: int, followed_id: int, following: bool) -> None:
        change = events_pb2.FollowChanged(
            follower_id=follower_id, followed_id=followed_id, following=following
        )
        await publish_event(self._log, events_pb2.Event(follow_changed=change))

    async def sessions_revoked(self, user_id: int, token_hashes: Sequence[bytes]) -> None:
        revoked = events_pb2.SessionsRevoked(user_id=user_id, token_hashes=token_hashes)
        await publish_event(self._log, events_pb2.Event(sessions_revoked=revoked))

    async def user_erased(self, user_id: int) -> None:
        erased = events_pb2.UserErased(user_id=user_id)
        await publish_event(self._log, events_pb2.Event(user_erased=erased))

    async def profile_updated(self, user: User) -> None:
        updated = events_pb2.ProfileUpdated(
            user_id=user.id, display_name=user.display_name, bio=user.bio, avatar=user.avatar
        )
        await publish_event(self._log, events_pb2.Event(profile_updated=updated))

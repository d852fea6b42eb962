"""The events post_svc consumes and emits.

Consumes (group `posts`), from the `media` topic:
- `MediaProcessed`: the post is marked PUBLISHED with its media;
- `MediaUpdated`: a published post's media is replaced by the fuller one;
- `MediaFailed`: the post is marked FAILED with the reason;
and its own from the `engagement` topic, to finish what a crash cut short:
- `LikeCreated`, `LikeRemoved`, `CommentCreated`, `CommentDeleted`: counted (once per event
  id), and the comment stored or the like and comment deleted;
from the `users` topic:
- `ProfileUpdated`: the user's cached author summary is dropped;
- `UserErased`: the same, so that their posts, likes and comments are hidden;
and its own from the `posts` topic:
- `PostDeleted`: the deletion is finished (the post and its counts marked, its likes and
  comments removed).
Emits (`posts` topic, keyed by author):
- `PostPublished`: a post became visible (again on a redelivery, with its first time);
- `PostUpdated`: a published post changed (feed_svc refreshes its cached copy);
- `PostDeleted`: its author deleted a post (sent before the post is marked).
Emits (`engagement` topic, keyed by post): the four engagement events above.
"""

from __future__ import annotations

from photoshare.events.v1 import events_pb2

from common.events.base import (
    TOPIC_ENGAGEMENT,
    TOPIC_MEDIA,
    TOPIC_POSTS,
    TOPIC_USERS,
    EventPublisher,
    EventRecord,
)
from common.events.codec import decode, publish_event
from post_svc.authors import Authors
from post_svc.deletion import PostDeletion
from post_svc.engagement import Engagement
from post_svc.models import Comment, Like
from post_svc.posts import Posts


class PostServiceEventHandler:
    """Dispatches each media event to the post it is about, finishes each like and comment
    change (counted once, stored or deleted) and drops changed profiles from the authors
    cache, and finishes deletions. One consumer for all four topics.

    Example:
        handler = PostServiceEventHandler(posts, engagement, authors, deletion)
        workers = (consumer(event_log, handler),)
    """

    group = "posts"
    topics = (TOPIC_MEDIA, TOPIC_ENGAGEMENT, TOPIC_USERS, TOPIC_POSTS)

    def __init__(
        self, posts: Posts, engagement: Engagement, authors: Authors, deletion: PostDeletion
    ) -> None:
        self._posts = posts
        self._engagement = engagement
        self._authors = authors
        self._deletion = deletion

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
            case "like_created":
                created = event.like_created
                like = Like(created.post_id, created.user_id, created.liked_at.ToMilliseconds())
                await self._engagement.count_like(like, event.event_id)
            case "like_removed":
                removed = event.like_removed
                like = Like(removed.post_id, removed.user_id, removed.liked_at.ToMilliseconds())
                await self._engagement.uncount_like(like, event.event_id)
            case "comment_created":
                await self._engagement.finish_comment(
                    _comment(event.comment_created), event.event_id
                )
            case "comment_deleted":
                deleted = event.comment_deleted
                comment = Comment(deleted.comment_id, deleted.post_id, deleted.author_id, "", 0)
                await self._engagement.remove_comment(comment, event.event_id)
            case "profile_updated":
                await self._authors.forget(event.profile_updated.user_id)
            case "user_erased":  # their posts, likes and comments are hidden from now on
                await self._authors.forget(event.user_erased.user_id)
            case "post_deleted":
                await self._deletion.finish(event.post_deleted.post_id)


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

    async def post_deleted(self, post_id: int, author_id: int, published_at_ms: int | None) -> None:
        deleted = events_pb2.PostDeleted(post_id=post_id, author_id=author_id)
        if published_at_ms is not None:
            deleted.published_at.FromMilliseconds(published_at_ms)
        await publish_event(self._log, events_pb2.Event(post_deleted=deleted))


class EngagementEventPublisher:
    """The engagement domain's events, published on the event log with the ids it chose."""

    def __init__(self, log: EventPublisher) -> None:
        self._log = log

    async def like_created(self, event_id: str, like: Like, post_author_id: int) -> None:
        created = events_pb2.LikeCreated(
            post_id=like.post_id, post_author_id=post_author_id, user_id=like.user_id
        )
        created.liked_at.FromMilliseconds(like.liked_at_ms)
        await publish_event(self._log, events_pb2.Event(event_id=event_id, like_created=created))

    async def like_removed(self, event_id: str, like: Like, post_author_id: int) -> None:
        removed = events_pb2.LikeRemoved(
            post_id=like.post_id, post_author_id=post_author_id, user_id=like.user_id
        )
        removed.liked_at.FromMilliseconds(like.liked_at_ms)
        await publish_event(self._log, events_pb2.Event(event_id=event_id, like_removed=removed))

    async def comment_created(self, event_id: str, comment: Comment, post_author_id: int) -> None:
        created = events_pb2.CommentCreated(
            comment_id=comment.id,
            post_id=comment.post_id,
            post_author_id=post_author_id,
            author_id=comment.author_id,
            text=comment.text,
        )
        created.created_at.FromMilliseconds(comment.created_at_ms)
        await publish_event(self._log, events_pb2.Event(event_id=event_id, comment_created=created))

    async def comment_deleted(self, event_id: str, comment: Comment, post_author_id: int) -> None:
        deleted = events_pb2.CommentDeleted(
            comment_id=comment.id,
            post_id=comment.post_id,
            post_author_id=post_author_id,
            author_id=comment.author_id,
        )
        await publish_event(self._log, events_pb2.Event(event_id=event_id, comment_deleted=deleted))


def _comment(created: events_pb2.CommentCreated) -> Comment:
    return Comment(
        created.comment_id,
        created.post_id,
        created.author_id,
        created.text,
        created.created_at.ToMilliseconds(),
    )

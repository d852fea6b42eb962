"""Likes and comments: who may like or comment on what, and how counts stay exact.

The like and comment rows are the truth. Counts are derived from events, each applied once by
its id (`StatsStore.apply`), both here before answering (so the caller reads their own write)
and by post_svc's stats consumer (so a crash between the steps is repaired):
- like: store the like (concurrent calls agree on one), send `LikeCreated`, count it. A
  repeated call sends the same event id again, which repairs a send lost to a crash.
- unlike: find the like, send `LikeRemoved`, uncount it, then delete it; the consumer (or a
  retry, with the same event id) finishes a removal that a crash cut short.
- comment: send `CommentCreated` (it carries the whole comment) first, then store and count
  it; if a crash came first, the consumer counts and stores it, so an acknowledged comment
  is never lost.
- delete a comment: send `CommentDeleted`, uncount, delete; the consumer finishes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from common.erasure import check_erase_limit
from common.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
    check_page_size,
)
from common.ids import IdGenerator, now_ms
from common.signing import KeysetCursor, Signer
from post_svc.models import Comment, CommentPage, Like, LikePage, Post, PostState, PostStats
from post_svc.posts import MAX_BATCH
from post_svc.storage.base import EngagementStore, LikedCache, PostStore, StatsStore

MAX_COMMENT_CHARS = 2200
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class EngagementEvents(Protocol):
    async def like_created(self, event_id: str, like: Like, post_author_id: int) -> None: ...

    async def like_removed(self, event_id: str, like: Like, post_author_id: int) -> None: ...

    async def comment_created(
        self, event_id: str, comment: Comment, post_author_id: int
    ) -> None: ...

    async def comment_deleted(
        self, event_id: str, comment: Comment, post_author_id: int
    ) -> None: ...


def like_event_id(like: Like) -> str:
    return f"like:{like.post_id}:{_liker(like)}"


def unlike_event_id(like: Like) -> str:
    return f"unlike:{like.post_id}:{_liker(like)}"


def _liker(like: Like) -> str:
    """The same for every retry of one like, and no user id: the counts remember applied
    event ids for a week, which must not keep an erased account's id."""
    return hashlib.sha256(f"{like.user_id}:{like.liked_at_ms}".encode()).hexdigest()[:24]


def comment_event_id(comment: Comment) -> str:
    return f"comment:{comment.id}"


def uncomment_event_id(comment: Comment) -> str:
    return f"uncomment:{comment.id}"


@dataclass(frozen=True, slots=True)
class Engaged:
    """What a reader sees of a post's engagement."""

    stats: PostStats
    liked_by_viewer: bool


class Engagement:
    """Example:
    engagement = Engagement(
        posts, likes_and_comments, stats, liked, events, ids, likes_signer,
        comments_signer,
    )
    seen = await engagement.like(post_id, viewer_id)     # Engaged(PostStats(1, 0), True)
    """

    def __init__(
        self,
        posts: PostStore,
        store: EngagementStore,
        stats: StatsStore,
        liked: LikedCache,
        events: EngagementEvents,
        ids: IdGenerator,
        likes_signer: Signer,
        comments_signer: Signer,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._posts = posts
        self._store = store
        self._stats = stats
        self._liked = liked
        self._events = events
        self._ids = ids
        # One signer per list: a token of the likes never pages the comments, or another post.
        self._likes_pages = KeysetCursor(likes_signer, what="page_token")
        self._comment_pages = KeysetCursor(comments_signer, what="page_token")
        self._clock = clock

    async def like(self, post_id: int, user_id: int) -> Engaged:
        post = await self._published(post_id)
        like = await self._store.add_like(post_id, user_id, self._clock())
        await self._like_changed(like)
        event_id = like_event_id(like)
        await self._events.like_created(event_id, like, post.author_id)
        stats = await self._count_now(post_id, event_id, likes=+1)
        return Engaged(_shown(stats), liked_by_viewer=True)

    async def unlike(self, post_id: int, user_id: int) -> Engaged:
        post = await self._published(post_id)
        like = await self._store.get_like(post_id, user_id)
        if like is None:
            stats = (await self._stats.get_many([post_id]))[post_id]
            return Engaged(_shown(stats), liked_by_viewer=False)
        stats = await self._take_back_like(like, post.author_id)
        return Engaged(_shown(stats), liked_by_viewer=False)

    async def _take_back_like(self, like: Like, post_author_id: int) -> PostStats:
        event_id = unlike_event_id(like)
        await self._events.like_removed(event_id, like, post_author_id)
        stats = await self._count_now(like.post_id, event_id, likes=-1)
        await self._store.remove_like(like)
        await self._like_changed(like)
        return stats

    async def likes_page(self, post_id: int, page_size: int, page_token: str) -> LikePage:
        size = _page_size(page_size)
        await self._published(post_id)
        before = self._likes_pages.decode(page_token, post_id) if page_token else None
        likes = await self._store.likes(post_id, before, size + 1)
        more = len(likes) > size
        likes = likes[:size]
        token = self._likes_pages.encode(post_id, likes[-1].sort_key) if more else None
        return LikePage(likes, token)

    async def comment(self, post_id: int, author_id: int, text: str) -> Comment:
        text = text.strip()
        if not text:
            raise InvalidArgument("text must not be empty", reason="EMPTY_COMMENT", field="text")
        if len(text) > MAX_COMMENT_CHARS:
            raise InvalidArgument(
                f"text is {len(text)} characters; at most {MAX_COMMENT_CHARS} are allowed",
                reason="COMMENT_TOO_LONG",
                field="text",
            )
        post = await self._published(post_id)
        comment = Comment(self._ids.next_id(), post_id, author_id, text, self._clock())
        event_id = comment_event_id(comment)
        await self._events.comment_created(event_id, comment, post.author_id)
        await self._store.add_comment(comment)
        await self._count_now(comment.post_id, event_id, comments=+1)
        return comment

    async def finish_comment(self, comment: Comment, event_id: str) -> None:
        """Stores and counts a comment whose event was sent, unless that was done: counted
        means stored (the request stores first), so a comment deleted since stays deleted."""
        applied = await self._stats.apply(comment.post_id, event_id, comments=+1)
        if applied.first_time:
            await self._store.add_comment(comment)

    async def comments_page(self, post_id: int, page_size: int, page_token: str) -> CommentPage:
        size = _page_size(page_size)
        await self._published(post_id)
        after = self._comment_pages.decode(page_token, post_id)[1] if page_token else 0
        comments = await self._store.comments(post_id, after, size + 1)
        more = len(comments) > size
        comments = comments[:size]
        token = (
            self._comment_pages.encode(post_id, (comments[-1].created_at_ms, comments[-1].id))
            if more
            else None
        )
        return CommentPage(comments, token)

    async def delete_comment(self, post_id: int, comment_id: int, caller_id: int) -> None:
        post = await self._published(post_id)
        comment = await self._store.get_comment(post_id, comment_id)
        if comment is None:
            raise NotFound(
                f"post {post_id} has no comment {comment_id}",
                reason="COMMENT_NOT_FOUND",
                metadata={"postId": str(post_id), "commentId": str(comment_id)},
            )
        if caller_id not in (comment.author_id, post.author_id):
            raise PermissionDenied(
                "only the comment's author or the post's author may delete it",
                reason="NOT_YOUR_COMMENT",
            )
        await self._take_back_comment(comment, post.author_id)

    async def _take_back_comment(self, comment: Comment, post_author_id: int) -> None:
        event_id = uncomment_event_id(comment)
        await self._events.comment_deleted(event_id, comment, post_author_id)
        await self._count_now(comment.post_id, event_id, comments=-1)
        await self._store.delete_comment(comment.post_id, comment.id)

    async def erase_user(self, user_id: int, limit: int) -> bool:
        """Takes back up to `limit` likes and up to `limit` comments of a user whose account
        is erased, each as unliking or deleting it does (counts and notifications follow);
        returns whether any are left."""
        check_erase_limit(limit)
        likes = await self._store.likes_of_user(user_id, limit + 1)
        comments = await self._store.comments_of_author(user_id, limit + 1)
        post_ids = [like.post_id for like in likes[:limit]] + [c.post_id for c in comments[:limit]]
        posts = await self._posts.get_many(post_ids)  # in any state: deleted ones too

        def author_of(post_id: int) -> int:
            post = posts.get(post_id)
            return post.author_id if post is not None else 0

        for like in likes[:limit]:
            await self._take_back_like(like, author_of(like.post_id))
        for comment in comments[:limit]:
            await self._take_back_comment(comment, author_of(comment.post_id))
        more = len(likes) > limit or len(comments) > limit
        if not more:
            await self._liked.forget(user_id)  # what the cache knew of their likes
        return more

    async def _count_now(
        self, post_id: int, event_id: str, *, likes: int = 0, comments: int = 0
    ) -> PostStats:
        """Applies an event to the counts before answering, so the caller reads their own
        write. While the counts' cache is down the answer shows the stored counts, and the
        event's consumer applies it once the cache is back."""
        try:
            applied = await self._stats.apply(post_id, event_id, likes=likes, comments=comments)
        except Unavailable:
            return (await self._stats.get_many([post_id]))[post_id]
        return applied.stats

    async def remove_comment(self, comment: Comment, event_id: str) -> None:
        """Uncounts and deletes a comment whose deletion was sent (again: nothing changes)."""
        await self._stats.apply(comment.post_id, event_id, comments=-1)
        await self._store.delete_comment(comment.post_id, comment.id)

    async def count_like(self, like: Like, event_id: str) -> None:
        """Counts a like whose event was sent (again: nothing changes), and forgets what the
        cache said of it, in case the request could not."""
        await self._stats.apply(like.post_id, event_id, likes=+1)
        await self._liked.changed(like.user_id, like.post_id)

    async def uncount_like(self, like: Like, event_id: str) -> None:
        """Uncounts and deletes a like whose removal was sent (again: nothing changes). Only
        that like goes: one the user made again later has another time."""
        await self._stats.apply(like.post_id, event_id, likes=-1)
        await self._store.remove_like(like)
        await self._liked.changed(like.user_id, like.post_id)

    async def seen_by(self, posts: Sequence[Post], viewer_id: int | None) -> dict[int, Engaged]:
        """Counts and the viewer's likes for a page of posts (published ones have any)."""
        return await self.seen([p.id for p in posts if p.state is PostState.PUBLISHED], viewer_id)

    async def seen(self, post_ids: Sequence[int], viewer_id: int | None) -> dict[int, Engaged]:
        """Counts and the viewer's likes by post id: one round trip to each store."""
        if len(post_ids) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} posts per call", field="post_ids")
        if viewer_id:
            stats, liked = await asyncio.gather(
                self._stats.get_many(post_ids), self._liked_among(viewer_id, post_ids)
            )
        else:
            stats, liked = await self._stats.get_many(post_ids), set()
        return {i: Engaged(_shown(stats[i]), i in liked) for i in post_ids}

    async def _liked_among(self, viewer_id: int, post_ids: Sequence[int]) -> set[int]:
        """The viewer's likes among the posts: from the cache, the rest from the store (and
        into the cache). While the cache is down, the store answers them all."""
        try:
            cached = await self._liked.get(viewer_id, post_ids)
        except Unavailable:
            return await self._store.liked_among(viewer_id, post_ids)
        missing = [p for p in post_ids if p not in cached]
        found = await self._store.liked_among(viewer_id, missing) if missing else set()
        if missing:
            with contextlib.suppress(Unavailable):  # a fill only saves the next read work
                await self._liked.fill(viewer_id, {p: p in found for p in missing})
        return found | {p for p, liked in cached.items() if liked}

    async def _like_changed(self, like: Like) -> None:
        """After a like or unlike: the viewer reads their own change at once. While the
        cache is down the change's event does this once it is back."""
        with contextlib.suppress(Unavailable):
            await self._liked.changed(like.user_id, like.post_id)

    async def _published(self, post_id: int) -> Post:
        found = await self._posts.get_many([post_id])
        post = found.get(post_id)
        if post is None or post.state is not PostState.PUBLISHED:
            raise NotFound(
                f"post {post_id} does not exist or is not published yet",
                reason="POST_NOT_FOUND",
                metadata={"postId": str(post_id)},
            )
        return post


def _page_size(requested: int) -> int:
    return check_page_size(
        requested, name="page_size", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
    )


def _shown(stats: PostStats) -> PostStats:
    # A removal counted before the like it undoes (a crash repaired out of order) can leave a
    # count below zero for a moment; nobody should see it.
    return replace(stats, likes=max(0, stats.likes), comments=max(0, stats.comments))

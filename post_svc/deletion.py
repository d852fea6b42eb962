"""Taking a post back: readers stop seeing it at once, and every copy of it goes after.

The request sends `PostDeleted` first, so that no crash can lose the deletion, then marks the
post DELETED (GET answers 404, the grid and the like and comment lists drop it) and its
counts deleted (feeds and notifications drop it: they read every page's counts anyway). The
rest follows the event, each consumer idempotently: post_svc's own repeats both marks (which
finishes a request cut short) and removes the post's likes and comments; feed_svc takes it out
of timelines, its cache and notifications; graph_svc uncounts it; media_svc deletes its media
once no other post uses it.
"""

from __future__ import annotations

import asyncio
import contextlib

from common.erasure import check_erase_limit
from common.errors import PermissionDenied, Unavailable
from post_svc.models import Post, PostState
from post_svc.posts import PostEvents, Posts, UploadSlots
from post_svc.storage.base import EngagementStore, PostStore, StatsStore


class PostDeletion:
    """Example:
    deletion = PostDeletion(posts, post_store, engagement_store, stats_store, events, media)
    await deletion.delete(post_id, caller_id)   # the request
    await deletion.finish(post_id)               # the PostDeleted consumer
    """

    def __init__(
        self,
        posts: Posts,
        store: PostStore,
        engagement: EngagementStore,
        stats: StatsStore,
        events: PostEvents,
        uploads: UploadSlots,
    ) -> None:
        self._posts = posts
        self._uploads = uploads
        self._store = store
        self._engagement = engagement
        self._stats = stats
        self._events = events

    async def delete(self, post_id: int, caller_id: int) -> None:
        """Only the author may; a post already deleted (or never there) is 404."""
        post = await self._posts.get(post_id, caller_id)
        if post.author_id != caller_id:
            raise PermissionDenied("only its author may delete a post", reason="NOT_YOUR_POST")
        await self._take_back(post)

    async def erase_author_posts(self, author_id: int, limit: int) -> tuple[int, bool]:
        """Deletes up to `limit` posts of an author whose account is erased, in any state,
        and forgets them (deleted ones too); returns how many, and whether more are left."""
        check_erase_limit(limit)
        posts = await self._store.of_author(author_id, limit + 1)
        await asyncio.gather(*(self._erase(post) for post in posts[:limit]))
        if len(posts) <= limit:
            await self._store.forget_requests(author_id)
        return min(len(posts), limit), len(posts) > limit

    async def _erase(self, post: Post) -> None:
        if post.state is not PostState.DELETED:
            await self._take_back(post)
        # Here rather than from the event: the tombstone is forgotten only once everything
        # that names the post here is gone. The event still reaches the other services.
        await self.finish(post.id)
        await self._store.forget(post.id)

    async def _take_back(self, post: Post) -> None:
        await self._events.post_deleted(post.id, post.author_id, post.published_at_ms)
        await self._store.mark_deleted(post.id)
        # With the counts' cache or the media service down, the event's consumers do these
        # once they are back.
        with contextlib.suppress(Unavailable):
            await self._stats.mark_deleted(post.id)
        if post.state is not PostState.PUBLISHED:
            with contextlib.suppress(Unavailable):  # its upload URL answers 410 at once
                await self._uploads.close_upload(post.id)

    async def finish(self, post_id: int) -> None:
        """Everything post_svc keeps of a deleted post goes but its tombstone; again:
        nothing changes."""
        await self._store.mark_deleted(post_id)
        await self._stats.mark_deleted(post_id)
        await self._engagement.delete_post(post_id)

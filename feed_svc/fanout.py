"""Fan-out on write, and keeping timelines right when people follow and unfollow."""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from feed_svc.models import FeedEntry, FollowGraph, PostSource
from feed_svc.storage.base import TimelineStore


@dataclass(frozen=True, slots=True)
class FanoutPolicy:
    celebrity_threshold: int = 10_000
    chunk_size: int = 1_000
    # Chunks pushed at once: the store works on one while the next one's keys are built.
    chunks_in_flight: int = 4
    follow_backfill: int = 200


class Fanout:
    """Pushes new posts of ordinary authors into their followers' timelines, and every new
    post into its author's timeline if the author has one (celebrities do).

    Example:
        fanout = Fanout(timelines, author_timelines, graph_client, post_client)
        delivered = await fanout.post_published(FeedEntry(published_at_ms, post_id, author_id))
    """

    def __init__(
        self,
        store: TimelineStore,
        author_timelines: TimelineStore,
        graph: FollowGraph,
        posts: PostSource,
        policy: FanoutPolicy = FanoutPolicy(),
    ) -> None:
        self._store = store
        self._author_timelines = author_timelines
        self._graph = graph
        self._posts = posts
        self._policy = policy

    async def post_published(self, entry: FeedEntry) -> int:
        """Returns how many follower timelines the post was pushed to (0 for celebrities,
        whose posts are pulled at read time, from their author timeline)."""
        await self._store.push([entry.author_id], entry)
        # Only a celebrity's exists (a read makes it): for anyone else this is a no-op.
        await self._author_timelines.push([entry.author_id], entry)
        if await self._is_celebrity(entry.author_id):
            return 0
        chunks = self._graph.follower_id_chunks(entry.author_id, self._policy.chunk_size)
        async with aclosing(chunks):
            return await self._push_chunks(chunks, entry)

    async def _push_chunks(self, chunks: AsyncIterator[list[int]], entry: FeedEntry) -> int:
        """Pushes each chunk of followers as the graph streams it, a few at once; the first
        failure cancels the rest and is raised (the event is handled again: pushes are
        idempotent)."""
        delivered = 0
        started: list[asyncio.Task[None]] = []
        pending: set[asyncio.Task[None]] = set()
        try:
            async for chunk in chunks:
                started.append(asyncio.create_task(self._store.push(chunk, entry)))
                pending.add(started[-1])
                delivered += len(chunk)
                if len(pending) >= self._policy.chunks_in_flight:
                    done, pending = await asyncio.wait(pending, return_when=FIRST_COMPLETED)
                    for task in done:
                        task.result()
            await asyncio.gather(*pending)
        except BaseException:
            for task in started:
                task.cancel()
            # Every push's outcome is collected (none is left unread), then the first raised.
            await asyncio.gather(*started, return_exceptions=True)
            raise
        return delivered

    async def post_deleted(self, entry: FeedEntry) -> None:
        """Takes a deleted post out of the timelines it was pushed to: the author's, and the
        followers' unless the author is a celebrity now (then any copy pushed before they
        became one stays until trimmed; reads leave a deleted post out either way)."""
        await self._store.remove([entry.author_id], entry)
        await self._author_timelines.remove([entry.author_id], entry)
        if await self._is_celebrity(entry.author_id):
            return
        chunks = self._graph.follower_id_chunks(entry.author_id, self._policy.chunk_size)
        async with aclosing(chunks):
            async for chunk in chunks:
                await self._store.remove(chunk, entry)

    async def followed(self, follower_id: int, followed_id: int) -> None:
        """Backfills the followee's recent posts into the follower's timeline."""
        if not await self._store.is_ready(follower_id) or await self._is_celebrity(followed_id):
            return
        entries = []
        recent = self._posts.recent([followed_id], None, self._policy.follow_backfill)
        async with aclosing(recent):
            async for batch in recent:
                entries += [c.entry for c in batch]
        await self._store.add(follower_id, entries)

    async def unfollowed(self, follower_id: int, followed_id: int) -> None:
        # Reads already hide the followee at once; this frees the timeline of their posts.
        await self._store.remove_author(follower_id, followed_id)

    async def _is_celebrity(self, user_id: int) -> bool:
        return await self._graph.follower_count(user_id) >= self._policy.celebrity_threshold

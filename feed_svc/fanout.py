"""Fan-out on write, and keeping timelines right when people follow and unfollow."""

from __future__ import annotations

import asyncio
import logging
import time
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from feed_svc.models import FeedEntry, FeedKey, FollowGraph, PostSource, PulledAuthor
from feed_svc.storage.base import PulledAuthorStore, TimelineStore
from feed_svc.threshold import AdaptiveThreshold

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FanoutPolicy:
    chunk_size: int = 1_000
    # Chunks pushed at once: the store works on one while the next one's keys are built.
    chunks_in_flight: int = 4
    follow_backfill: int = 200
    # How many of an author's posts pushing them again may backfill (a timeline's length).
    backfill_limit: int = 800


class Fanout:
    """Pushes new posts of ordinary authors into their followers' timelines, and every new
    post into its author's timeline if the author has one (pulled authors do).

    Whether an author is pushed is decided at their posts, against the threshold of the
    moment, and recorded (`PulledAuthorStore`), so that reads and fan-out agree whatever
    the threshold does:
    - an author at or above the threshold becomes pulled at their next post: reads pull all
      their posts from then on (older ones are also in timelines already; reads drop the
      duplicates);
    - a pulled author below `pushed_again_below` the threshold at their next post (or below it
      at its lowest, by unfollows) is pushed again: marked leaving, their posts since they
      became pulled are pushed to every follower, then the record goes. Reads pull them until
      then, so no post is ever in neither place.

    Example:
        fanout = Fanout(timelines, author_timelines, pulled, graph, post_client, threshold)
        delivered = await fanout.post_published(FeedEntry(published_at_ms, post_id, author_id))
    """

    def __init__(
        self,
        store: TimelineStore,
        author_timelines: TimelineStore,
        pulled: PulledAuthorStore,
        graph: FollowGraph,
        posts: PostSource,
        threshold: AdaptiveThreshold,
        policy: FanoutPolicy = FanoutPolicy(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._author_timelines = author_timelines
        self._pulled = pulled
        self._graph = graph
        self._posts = posts
        self._threshold = threshold
        self._policy = policy
        self._clock = clock

    async def post_published(self, entry: FeedEntry) -> int:
        """Returns how many follower timelines the post was pushed to (0 for pulled authors,
        whose posts are read from their author timeline)."""
        await self._store.push([entry.author_id], entry)
        # Only a pulled author's exists (a read makes it): for anyone else this is a no-op.
        await self._author_timelines.push([entry.author_id], entry)
        started = time.perf_counter()
        delivered = await self._deliver(entry)
        # Every post is measured, pulled ones too: a quiet window is a calm one.
        self._threshold.observe(
            writes=delivered,
            busy_s=time.perf_counter() - started,
            lag_s=self._clock() - entry.published_at_ms / 1000,
        )
        return delivered

    async def _deliver(self, entry: FeedEntry) -> int:
        """Pushes the post to the followers unless its author is (or becomes) pulled."""
        author_id = entry.author_id
        pulled = await self._record(author_id)
        followers = await self._graph.follower_count(author_id)
        threshold = self._threshold.now()
        if pulled is None:
            if followers < threshold:
                return await self._push_to_followers(author_id, [entry])
            await self._pulled.put(author_id, PulledAuthor(entry.key))
            log.info(
                "author %d is pulled from now: %d followers, threshold %d",
                author_id,
                followers,
                threshold,
            )
            return 0
        if not pulled.leaving and followers >= self._threshold.policy.pushed_again_below(threshold):
            return 0
        return await self._push_again(author_id, pulled, entry)

    async def _record(self, author_id: int) -> PulledAuthor | None:
        """The author's pulled record; None while fan-out pushes them."""
        return (await self._pulled.get([author_id])).get(author_id)

    async def _push_again(
        self, author_id: int, pulled: PulledAuthor, newest: FeedEntry | None = None
    ) -> int:
        """Moves a pulled author back to being pushed; a crash part-way leaves them leaving,
        and their next event finishes it."""
        await self._pulled.put(author_id, PulledAuthor(pulled.since, leaving=True))
        since = await self._posts_since(author_id, pulled.since)
        if newest is not None and newest not in since:
            since.append(newest)
        delivered = await self._push_to_followers(author_id, since)
        await self._pulled.remove(author_id)
        log.info(
            "author %d is pushed again: %d posts since they were pulled, %d timeline writes",
            author_id,
            len(since),
            delivered,
        )
        return delivered

    async def _posts_since(self, author_id: int, since: FeedKey) -> list[FeedEntry]:
        entries: list[FeedEntry] = []
        recent = self._posts.recent([author_id], None, self._policy.backfill_limit)
        async with aclosing(recent):
            async for batch in recent:
                entries += [c.entry for c in batch if c.entry.key >= since]
        return entries

    async def _push_to_followers(self, author_id: int, entries: Sequence[FeedEntry]) -> int:
        """Timeline writes made: each entry into every follower's timeline."""
        chunks = self._graph.follower_id_chunks(author_id, self._policy.chunk_size)
        async with aclosing(chunks):
            return await self._push_chunks(chunks, entries)

    async def _push_chunks(
        self, chunks: AsyncIterator[list[int]], entries: Sequence[FeedEntry]
    ) -> int:
        """Pushes each chunk of followers as the graph streams it, a few at once; the first
        failure cancels the rest and is raised (the event is handled again: pushes are
        idempotent)."""
        delivered = 0
        started: list[asyncio.Task[None]] = []
        pending: set[asyncio.Task[None]] = set()
        try:
            async for chunk in chunks:
                started.append(asyncio.create_task(self._push_chunk(chunk, entries)))
                pending.add(started[-1])
                delivered += len(chunk) * len(entries)
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

    async def _push_chunk(self, owner_ids: list[int], entries: Sequence[FeedEntry]) -> None:
        for entry in entries:
            await self._store.push(owner_ids, entry)

    async def post_deleted(self, entry: FeedEntry) -> None:
        """Takes a deleted post out of the timelines it was pushed to: the author's, and the
        followers' unless the author is pulled now (then any copy pushed before stays until
        trimmed; reads leave a deleted post out either way)."""
        await self._store.remove([entry.author_id], entry)
        await self._author_timelines.remove([entry.author_id], entry)
        pulled = await self._record(entry.author_id)
        if pulled is not None and not pulled.leaving:
            return
        chunks = self._graph.follower_id_chunks(entry.author_id, self._policy.chunk_size)
        async with aclosing(chunks):
            async for chunk in chunks:
                await self._store.remove(chunk, entry)

    async def followed(self, follower_id: int, followed_id: int) -> None:
        """Backfills a pushed followee's recent posts into the follower's timeline (a
        leaving one's too: their backfill may have listed the followers before this one)."""
        if not await self._store.is_ready(follower_id):
            return
        pulled = await self._record(followed_id)
        if pulled is not None and not pulled.leaving:
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
        # A pulled author who loses followers down to the lowest threshold's hysteresis is
        # pushed again now, before reads stop asking the graph for them.
        pulled = await self._record(followed_id)
        if pulled is None:
            return
        policy = self._threshold.policy
        if await self._graph.follower_count(followed_id) < policy.pushed_again_below(
            policy.minimum
        ):
            await self._push_again(followed_id, pulled)

"""Reading the home feed: the pushed timeline merged with the posts of pulled authors
(celebrities, feed_svc/fanout.py) read now."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from photoshare.graph.v1.user_summary_pb2 import UserSummary
from photoshare.post.v1.post_service_pb2 import Post

from common.counting import NOT_COUNTED, CacheCounter
from common.errors import Unavailable, check_page_size
from common.signing import KeysetCursor, Signer
from feed_svc.merge import each, merge_newest_first, take
from feed_svc.models import (
    Candidate,
    Engagement,
    FeedEntry,
    FeedKey,
    FeedPage,
    FollowGraph,
    Hydration,
    PostSource,
    PulledAuthor,
    TimelinePage,
)
from feed_svc.storage.base import PulledAuthorStore, TimelineStore
from feed_svc.threshold import ThresholdPolicy

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
TIMELINE_BATCH = 200
# How far a single read may pull from the stores below a trimmed timeline or from celebrities.
PULL_LIMIT = 2_000
# Readers whose celebrities are remembered between reads, to hydrate their posts early.
CELEBRITY_HINTS = 100_000


@dataclass(frozen=True, slots=True)
class FeedPolicy:
    # Followees with fewer followers are never pulled.
    pull_candidates_from: int = ThresholdPolicy().pull_candidates_from
    timeline_max_len: int = 800


@dataclass(frozen=True, slots=True)
class TimelineCounters:
    """Hits and misses of the reader timelines and of the pulled authors' timelines."""

    home: CacheCounter = NOT_COUNTED
    author: CacheCounter = NOT_COUNTED


class HomeFeed:
    """The read path.

    Example:
        feed = HomeFeed(
            timelines,
            author_timelines,
            pulled,
            graph,
            posts,
            Signer(secret, purpose="feed-cursor"),
        )
        page = await feed.read(reader_id, limit=20, cursor="")
    """

    def __init__(
        self,
        store: TimelineStore,
        author_timelines: TimelineStore,
        pulled: PulledAuthorStore,
        graph: FollowGraph,
        posts: PostSource,
        cursor_signer: Signer,
        policy: FeedPolicy = FeedPolicy(),
        counted: TimelineCounters | None = None,
    ) -> None:
        """`counted`: where reads of timelines that were there (or had to be rebuilt) are
        counted."""
        self._store = store
        self._counted = counted or TimelineCounters()
        self._author_timelines = author_timelines
        self._pulled_authors = pulled
        self._graph = graph
        self._posts = posts
        self._cursors = KeysetCursor(cursor_signer, what="cursor")
        self._policy = policy
        # Each recent reader's celebrities, as the graph listed them at their last read (a
        # dict in insertion order: the least recent reader first).
        self._celebrities_hint: dict[int, list[int]] = {}

    async def read(self, reader_id: int, limit: int, cursor: str) -> FeedPage:
        size = check_page_size(limit, name="limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        before = self._cursors.decode(cursor, reader_id) if cursor else None
        # If the timelines' store is down, the pages below are pulled from the stores.
        with contextlib.suppress(Unavailable):
            await self.ensure_timeline(reader_id)
        # The first timeline page is local: check its authors while the celebrities are
        # looked up, in the same round trip to the graph.
        peek = await self._timeline_page(self._store, reader_id, before, size + 1)
        authors = {e.author_id for e in peek.entries} - {reader_id} if peek else set()
        # The page's counts and authors are asked for in the same round: usually the page is
        # the newest of the timeline's first entries and of the reader's celebrities' (as of
        # their last read); whatever else ends up on it is asked for at the end.
        likely, first_pages = await self._likely_page(reader_id, peek, before, size + 1)
        reader_follows, hydration = await asyncio.gather(
            self._graph.reader_follows(
                reader_id, sorted(authors), self._policy.pull_candidates_from
            ),
            self._posts.hydrate(
                [e.post_id for e in likely], list({e.author_id for e in likely}), reader_id
            ),
        )
        celebrities = await self._pulled_among(reader_follows.pull_candidates)
        self._remember_celebrities(reader_id, celebrities)
        follows = _Follows(
            reader_id,
            checked=authors | set(celebrities),
            followed=reader_follows.followed | set(celebrities),
        )
        # The first pages read above are not read again.
        sources = [self._pushed(reader_id, before, first_batch=size + 1, first_page=peek)]
        sources += [
            self._celebrity(c, before, first_batch=size + 1, first_page=first_pages.get(c))
            for c in celebrities
        ]
        page: list[Candidate] = []
        async with aclosing(merge_newest_first(*sources)) as candidates:
            while len(page) <= size:
                batch = await take(candidates, size + 1 - len(page))
                if not batch:
                    break
                page += await self._visible(follows, batch)
        more = len(page) > size
        page = page[:size]
        next_cursor = self._cursors.encode(reader_id, page[-1].entry.key) if more else None
        posts = [c.post for c in page if c.post is not None]
        post_ids, author_ids = hydration.missing(posts)
        if post_ids or author_ids:
            hydration |= await self._posts.hydrate(post_ids, author_ids, reader_id)
        # A post deleted since it was pushed or cached, or whose author is being erased, is
        # dropped here, before the events that remove it everywhere have been handled.
        shown = [as_seen(p, hydration) for p in posts if not hydration.hidden(p)]
        return FeedPage(shown, next_cursor)

    async def _likely_page(
        self, reader_id: int, peek: TimelinePage | None, before: FeedKey | None, count: int
    ) -> tuple[list[FeedEntry], dict[int, TimelinePage]]:
        """The entries most likely to make the page, from what is at hand: the timeline's
        first ones and the first ones of the celebrities the reader followed at their last
        read (a guess: it only decides what is hydrated early); and those celebrities' first
        pages, by celebrity, for the merge."""
        hinted = self._celebrities_hint.get(reader_id, [])
        pages = await asyncio.gather(
            *(self._timeline_page(self._author_timelines, c, before, count) for c in hinted)
        )
        first_pages = {c: page for c, page in zip(hinted, pages, strict=True) if page}
        likely = list(peek.entries[:count]) if peek else []
        for page in first_pages.values():
            likely += page.entries
        likely.sort(key=lambda e: e.key, reverse=True)
        return likely[:count], first_pages

    def _remember_celebrities(self, reader_id: int, celebrities: list[int]) -> None:
        hint = self._celebrities_hint
        hint.pop(reader_id, None)
        if celebrities:
            hint[reader_id] = celebrities
            while len(hint) > CELEBRITY_HINTS:
                del hint[next(iter(hint))]  # the least recent reader's

    async def _pulled_among(self, candidates: list[int]) -> list[int]:
        """The followees fan-out does not push (or is pushing again): their posts are pulled.
        While that record cannot be read, every candidate is pulled (duplicates of pushed
        posts are dropped by the merge)."""
        pulled = await self._pulled_records(candidates)
        return candidates if pulled is None else [c for c in candidates if c in pulled]

    async def _pulled_records(self, candidates: list[int]) -> dict[int, PulledAuthor] | None:
        """The pulled authors' records among the candidates; None while the record cannot be
        read (each caller then takes the superset that leaves no post out)."""
        if not candidates:
            return {}
        try:
            return await self._pulled_authors.get(candidates)
        except Unavailable:
            return None

    async def erase_reader(self, reader_id: int) -> None:
        """An erased account's timelines go: the one they read and the one of their posts."""
        await self._store.drop(reader_id)
        await self._author_timelines.drop(reader_id)
        await self._pulled_authors.remove(reader_id)
        self._celebrities_hint.pop(reader_id, None)

    async def ensure_timeline(self, reader_id: int) -> None:
        """A missing timeline is rebuilt from the stores, never shown as empty."""
        await self._ensure(
            self._store,
            reader_id,
            lambda: self._pushed_authors(reader_id),
            self._counted.home,
        )

    async def ensure_author_timeline(self, author_id: int) -> None:
        """A pulled author's recent posts, kept so that reads need not ask post_svc for them."""
        await self._ensure(
            self._author_timelines, author_id, lambda: _just(author_id), self._counted.author
        )

    async def _ensure(
        self,
        timelines: TimelineStore,
        owner_id: int,
        authors: Callable[[], Awaitable[list[int]]],
        counted: CacheCounter,
    ) -> None:
        """Rebuilds an absent timeline from the posts of `authors`: begun first, so that
        fan-out lands in it while the stores are read, and ready once it holds them all."""
        if await timelines.is_ready(owner_id):
            counted.count(1, 0)
            return
        counted.count(0, 1)
        await timelines.begin(owner_id)
        max_len = self._policy.timeline_max_len
        entries = []
        async with aclosing(self._posts.recent(await authors(), None, max_len)) as batches:
            async for batch in batches:
                entries += [c.entry for c in batch]
        floor = entries[-1].key if len(entries) >= max_len else None
        await timelines.complete(owner_id, entries, floor)

    async def _pushed_authors(self, reader_id: int) -> list[int]:
        """Whose posts fan-out pushes to this reader: the followees not pulled (those being
        pushed again included), and the reader."""
        followees = await self._graph.followees(reader_id)
        candidates = [
            f.user_id for f in followees if f.follower_count >= self._policy.pull_candidates_from
        ]
        # While the record cannot be read, every followee's posts are taken: reads pull all
        # the candidates then, and the merge drops the duplicates.
        pulled = await self._pulled_records(candidates) or {}
        pushed = [
            f.user_id for f in followees if f.user_id not in pulled or pulled[f.user_id].leaving
        ]
        return [*pushed, reader_id]

    def _pushed(
        self,
        reader_id: int,
        before: FeedKey | None,
        *,
        first_batch: int,
        first_page: TimelinePage | None,
    ) -> AsyncGenerator[Candidate, None]:
        """The reader's timeline: what fan-out pushed to them."""
        return self._from_timeline(
            self._store,
            reader_id,
            before,
            first_batch=first_batch,
            first_page=first_page,
            authors=lambda: self._pushed_authors(reader_id),
        )

    async def _celebrity(
        self,
        author_id: int,
        before: FeedKey | None,
        *,
        first_batch: int,
        first_page: TimelinePage | None,
    ) -> AsyncGenerator[Candidate, None]:
        """A celebrity's posts, pulled at read time from their author timeline (rebuilt from
        post_svc when absent; while the timelines are down, post_svc answers)."""
        if first_page is None:  # a page read already shows the timeline is there
            with contextlib.suppress(Unavailable):
                await self.ensure_author_timeline(author_id)
        pulled = self._from_timeline(
            self._author_timelines,
            author_id,
            before,
            first_batch=first_batch,
            first_page=first_page,
            authors=lambda: _just(author_id),
        )
        async with aclosing(pulled):
            async for candidate in pulled:
                yield candidate

    async def _from_timeline(
        self,
        timelines: TimelineStore,
        owner_id: int,
        before: FeedKey | None,
        *,
        first_batch: int,
        first_page: TimelinePage | None,
        authors: Callable[[], Awaitable[list[int]]],
    ) -> AsyncGenerator[Candidate, None]:
        """A timeline's entries, then below its floor (or all of them, when it is absent or
        down) the posts of `authors` from the stores. `first_page`, when the caller has read
        it already, is the page of `first_batch` entries before `before`."""
        position = before
        page: TimelinePage | None = None
        batch = first_batch
        while True:
            if first_page is not None:
                page, first_page = first_page, None
            else:
                page = await self._timeline_page(timelines, owner_id, position, batch)
            if page is None:
                break  # evicted while reading, or down: the pull below serves this page
            for entry in page.entries:
                yield Candidate(entry)
            if len(page.entries) < batch:
                break
            position = page.entries[-1].key
            batch = TIMELINE_BATCH
        floor = page.floor if page is not None else position
        if page is not None and floor is None:
            return  # the timeline holds the whole history
        # Below the floor the timeline was trimmed: read on from the stores.
        start = _older(position, floor)
        async with aclosing(
            self._pulled(await authors(), start, first_batch=first_batch)
        ) as pulled:
            async for candidate in pulled:
                yield candidate

    @staticmethod
    async def _timeline_page(
        timelines: TimelineStore, owner_id: int, before: FeedKey | None, limit: int
    ) -> TimelinePage | None:
        """A page of a timeline; None when it is absent or its store is down, and the posts
        are pulled from the stores instead (degraded: slower, never wrong)."""
        try:
            return await timelines.page(owner_id, before, limit)
        except Unavailable:
            return None

    async def _pulled(
        self, authors: Sequence[int], before: FeedKey | None, *, first_batch: int
    ) -> AsyncGenerator[Candidate, None]:
        """Posts read from the stores, a page's worth first and more only when asked."""
        position, limit = before, first_batch
        while True:
            got = 0
            async with aclosing(each(self._posts.recent(authors, position, limit))) as pulled:
                async for candidate in pulled:
                    got += 1
                    position = candidate.entry.key
                    yield candidate
            if got < limit:
                return
            limit = min(limit * 4, PULL_LIMIT)

    async def _visible(self, follows: _Follows, batch: Sequence[Candidate]) -> list[Candidate]:
        """Drops posts of people the reader no longer follows and hydrates the rest."""
        unknown = {c.entry.author_id for c in batch} - follows.checked - {follows.reader_id}
        if unknown:
            follows.checked |= unknown
            follows.followed |= await self._graph.filter_followed(
                follows.reader_id, sorted(unknown)
            )
        kept = [c for c in batch if c.entry.author_id in (follows.reader_id, *follows.followed)]
        missing = [c.entry.post_id for c in kept if c.post is None]
        posts = await self._posts.get_many(missing) if missing else {}
        hydrated = []
        for candidate in kept:
            post = candidate.post or posts.get(candidate.entry.post_id)
            if post is not None:
                hydrated.append(Candidate(candidate.entry, post))
        return hydrated


@dataclass
class _Follows:
    """Who the reader follows, as far as this read has asked the graph."""

    reader_id: int
    checked: set[int]
    followed: set[int]


async def _just(author_id: int) -> list[int]:
    return [author_id]


def _older(a: FeedKey | None, b: FeedKey | None) -> FeedKey | None:
    """The stricter of two exclusive upper bounds."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def as_seen(post: Post, hydration: Hydration) -> Post:
    """A copy with its author and the reader's counts: the post may be the cache's own
    object."""
    seen = Post()
    seen.CopyFrom(post)
    engagement: Engagement | None = hydration.engagement.get(post.id)
    if engagement is not None:
        seen.like_count = engagement.likes
        seen.comment_count = engagement.comments
        seen.liked_by_viewer = engagement.liked_by_reader
    author: UserSummary | None = hydration.authors.get(post.author_id)
    if author is not None:
        seen.author.CopyFrom(author)
    return seen

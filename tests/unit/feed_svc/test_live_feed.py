"""The live home feed over the domain: a stream gets the posts that enter the reader's feed as
they are published, and a reconnect from any event id gets what it missed, oldest first,
then live ones, none twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import pytest

from common.errors import InvalidArgument, ResourceExhausted, Unavailable
from common.signing import Signer
from feed_svc.live import REPLAY_LIMIT, StreamPositions, entry_of
from feed_svc.live_feed import LiveHomeFeed, LiveMessage
from feed_svc.models import Engagement
from feed_svc.streams import Stream, StreamHub
from tests.unit.feed_svc.test_feed import READER, World

ADA, CY = 2, 3


class WatchedHub(StreamHub):
    """Says when a stream has opened (its RPC runs on until its first event)."""

    def __init__(self, per_reader: int = 5) -> None:
        super().__init__(per_reader=per_reader)
        self.opened = asyncio.Event()
        self.receiving()

    def open(self, reader_id: int, following: Iterable[int]) -> Stream:
        stream = super().open(reader_id, following)
        self.opened.set()
        return stream

    def open_notifications(self, reader_id: int) -> Stream:
        stream = super().open_notifications(reader_id)
        self.opened.set()
        return stream


class Live:
    """The world, a hub fed by hand (as the process's tail feeds it), the live feed on them."""

    def __init__(self, *, per_reader: int = 5, tail_wait_s: float = 1.0) -> None:
        self.world = World()
        self.hub = WatchedHub(per_reader)
        self.feed = LiveHomeFeed(
            self.world.feed,
            self.hub,
            self.world.graph,
            self.world.posts,
            StreamPositions(Signer(b"k", purpose="feed-stream")),
            tail_wait_s=tail_wait_s,
        )

    async def post(self, author: int, *, tailed: bool = True) -> int:
        """Published and fanned out, then (unless the stream is away) tailed into the hub."""
        post_id = await self.world.post(author)
        if tailed:
            self.hub.post_published(entry_of(self.world.posts.posts[post_id]))
        return post_id

    async def open(self, reader: int = READER, after: str = "") -> AsyncIterator[LiveMessage]:
        """A stream, once it is registered with the hub (what it sends is read later)."""
        messages = self.feed.stream(reader, after)
        self.hub.opened.clear()
        first = asyncio.ensure_future(anext(messages))
        await asyncio.wait_for(self.hub.opened.wait(), timeout=1)
        return _Resumed(first, messages)


class _Resumed:
    """An async iterator whose first item was asked for already."""

    def __init__(
        self, first: asyncio.Future[LiveMessage], rest: AsyncIterator[LiveMessage]
    ) -> None:
        self._first: asyncio.Future[LiveMessage] | None = first
        self._rest = rest

    def __aiter__(self) -> _Resumed:
        return self

    async def __anext__(self) -> LiveMessage:
        if self._first is not None:
            first, self._first = self._first, None
            return await first
        return await anext(self._rest)

    async def aclose(self) -> None:
        if self._first is not None:
            self._first.cancel()
        await self._rest.aclose()  # type: ignore[attr-defined]


async def take(messages: AsyncIterator[LiveMessage], count: int) -> list[LiveMessage]:
    """The next `count` messages, each within a second."""
    return [await asyncio.wait_for(anext(messages), timeout=1) for _ in range(count)]


async def nothing_more(messages: AsyncIterator[LiveMessage]) -> bool:
    task = asyncio.ensure_future(anext(messages))
    done, _ = await asyncio.wait([task], timeout=0.05)
    return not done


def ids(messages: list[LiveMessage]) -> list[int]:
    return [m.post.id for m in messages if m.post is not None]


async def test_posts_that_enter_the_feed_arrive_hydrated_with_an_id_to_resume_from() -> None:
    live = Live()
    live.world.graph.follow(READER, ADA)
    messages = await live.open()
    first = await live.post(ADA)
    await live.post(CY)  # not followed
    own = await live.post(READER)
    got = await take(messages, 2)
    assert ids(got) == [first, own]
    assert got[0].post is not None
    assert got[0].post.author.username == f"user{ADA}"
    assert all(m.event_id for m in got)
    assert got[0].event_id != got[1].event_id
    assert await nothing_more(messages)


async def test_a_reconnect_gets_what_it_missed_oldest_first_then_live_none_twice() -> None:
    live = Live()
    live.world.graph.follow(READER, ADA)
    messages = await live.open()
    seen = [await live.post(ADA) for _ in range(3)]
    got = await take(messages, 3)
    assert ids(got) == seen
    await messages.aclose()  # type: ignore[attr-defined]
    assert len(live.hub) == 0
    # Away: posts published meanwhile reach other processes' tails, not this stream.
    away = [await live.post(ADA, tailed=False), await live.post(READER, tailed=False)]
    resumed = await live.open(after=got[-1].event_id)
    # The hub also hands the new stream the posts of its last 5 s: the three seen already.
    after = await live.post(ADA)
    assert ids(await take(resumed, 3)) == [*away, after]
    assert await nothing_more(resumed)


async def test_resuming_from_an_older_id_sends_from_there() -> None:
    live = Live()
    live.world.graph.follow(READER, ADA)
    messages = await live.open()
    seen = [await live.post(ADA) for _ in range(4)]
    got = await take(messages, 4)
    await messages.aclose()  # type: ignore[attr-defined]
    resumed = await live.open(after=got[1].event_id)  # the client lost the last two
    assert ids(await take(resumed, 2)) == seen[2:]
    assert await nothing_more(resumed)


async def test_an_id_that_is_not_the_readers_is_refused_before_anything_is_sent() -> None:
    live = Live()
    live.world.graph.follow(READER, ADA)
    messages = await live.open()
    await live.post(ADA)
    [message] = await take(messages, 1)
    with pytest.raises(InvalidArgument, match="Last-Event-ID"):
        await anext(live.feed.stream(CY, message.event_id))
    with pytest.raises(InvalidArgument, match="Last-Event-ID"):
        await anext(live.feed.stream(READER, "garbage"))


async def test_a_client_away_too_long_is_told_to_reload_then_gets_live_posts() -> None:
    live = Live()
    live.world.graph.follow(READER, ADA)
    messages = await live.open()
    await live.post(ADA)
    [message] = await take(messages, 1)
    await messages.aclose()  # type: ignore[attr-defined]
    for _ in range(REPLAY_LIMIT + 1):
        await live.post(ADA, tailed=False)
    resumed = await live.open(after=message.event_id)
    [reset, recent] = await take(resumed, 2)
    assert reset.reset
    assert ids([recent]) == ids([message])  # the hub's last 5 s: in the reloaded feed too
    newer = await live.post(ADA)
    assert ids(await take(resumed, 1)) == [newer]


async def test_deletes_and_unfollows_arrive_as_events() -> None:
    live = Live()
    live.world.graph.follow(READER, ADA)
    messages = await live.open()
    post_id = await live.post(ADA)
    live.hub.post_deleted(entry_of(live.world.posts.posts[post_id]))
    live.hub.unfollowed(READER, ADA)
    _, removed, hidden = await take(messages, 3)
    assert removed.removed_post_id == post_id
    assert not removed.event_id
    assert hidden.hidden_author_id == ADA


async def test_a_post_is_read_once_for_every_stream_and_the_readers_like_apart() -> None:
    live = Live()
    streams = []
    for reader in range(10, 20):
        live.world.graph.follow(reader, ADA)
        streams.append(await live.open(reader))
    live.world.posts.hydrations.clear()
    post_id = await live.post(ADA)
    for stream in streams:
        [message] = await take(stream, 1)
        assert message.post is not None
        assert not message.post.liked_by_viewer
    assert live.world.posts.hydrations == [([post_id], [ADA])]
    # Liked by the time it is shown (by reader 10, on another device): each reader's own like
    # is asked for.
    liked = await live.post(ADA, tailed=False)
    for reader in range(0, 20):
        live.world.posts.engagements[(liked, reader)] = Engagement(likes=1)
    live.world.posts.engagements[(liked, 10)] = Engagement(likes=1, liked_by_reader=True)
    live.hub.post_published(entry_of(live.world.posts.posts[liked]))
    shown = [(await take(stream, 1))[0].post for stream in streams]
    assert [(p.like_count, p.liked_by_viewer) for p in shown if p] == [(1, True)] + [(1, False)] * 9


async def test_too_many_streams_close_the_oldest_with_an_error_not_a_reconnect() -> None:
    live = Live(per_reader=1)
    first = await live.open()
    second = asyncio.ensure_future(anext(live.feed.stream(READER, "")))
    with pytest.raises(ResourceExhausted, match="more streams than allowed"):
        await anext(first)
    second.cancel()


async def test_a_stream_waits_for_the_tail_and_says_when_it_does_not_run() -> None:
    live = Live(tail_wait_s=0.01)
    live.hub.interrupt()
    with pytest.raises(Unavailable, match="reconnect"):
        await anext(live.feed.stream(READER, ""))

"""The live home feed (ADR 14): one reader's stream, from their last event id to now and on.

A stream registers with the process's hub first (every event published from then on reaches
it), then replays what the reader's feed gained since their position, oldest first, then
sends the hub's events as they come: each post once (`live.Delivery`), hydrated as a page of
the feed shows it, with the event id to resume from.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from photoshare.post.v1.post_service_pb2 import Post

from common.errors import ResourceExhausted, Unavailable
from feed_svc.feed import HomeFeed, as_seen
from feed_svc.live import Delivery, StreamPositions, entry_of, missed
from feed_svc.models import FeedEntry, FollowGraph, Hydration, PostSource
from feed_svc.streams import Closed, LiveKind, Stream, StreamHub

# How long a stream waits for the process's tail to start (a process starting up) before
# telling the client to come back.
TAIL_WAIT_S = 5.0
# How long one hydration of a new post serves every stream that shows it: its counts are the
# ones of the moment it was published.
SHARED_FOR_S = 1.0
SHARED_POSTS = 1_024


# Awaited once a stream is registered (the RPC sends its headers then).
Opened = Callable[[], Awaitable[None]]


async def nobody_told() -> None:
    return None


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """One event for the client: exactly one of `post`, `removed_post_id`,
    `hidden_author_id`, `reset` says what happened; `event_id` goes with a post."""

    post: Post | None = None
    event_id: str = ""
    removed_post_id: int = 0
    hidden_author_id: int = 0
    reset: bool = False


class LiveHomeFeed:
    """Opens readers' live feeds on this process's hub.

    Example:
        live = LiveHomeFeed(feed, hub, graph, posts, StreamPositions(signer))
        async with aclosing(live.stream(reader_id, after=last_event_id)) as events:
            async for message in events:
                send(message)
    """

    def __init__(
        self,
        feed: HomeFeed,
        hub: StreamHub,
        graph: FollowGraph,
        posts: PostSource,
        positions: StreamPositions,
        *,
        tail_wait_s: float = TAIL_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._feed = feed
        self._tail_wait_s = tail_wait_s
        self._hub = hub
        self._graph = graph
        self._positions = positions
        self._shared = _SharedHydration(posts, clock)
        self._posts = posts

    async def stream(
        self, reader_id: int, after: str, opened: Opened = nobody_told
    ) -> AsyncGenerator[LiveMessage, None]:
        """What the reader missed since `after` (an event id; empty: nothing), then live
        events until the hub ends the stream; `opened()` is awaited once the stream is
        registered (every post published from then on reaches it). Raises InvalidArgument
        for an id that is not the reader's, Unavailable while this process receives no
        events, ResourceExhausted when the reader opened too many streams since."""
        start = self._positions.decode(after, reader_id) if after else None
        await receiving(self._hub, self._tail_wait_s)
        followees = await self._graph.followees(reader_id)
        async with registered(
            self._hub, self._hub.open(reader_id, [f.user_id for f in followees])
        ) as stream:
            await opened()
            delivery = Delivery(start)
            if start is not None:
                replay = await missed(self._feed, reader_id, start)
                if replay is None:
                    delivery = Delivery()
                    yield LiveMessage(reset=True)
                for post in replay or ():
                    if delivery.admit(entry_of(post)):
                        yield self._message(reader_id, post, delivery)
            while (event := await stream.next()) is not None:
                match event.kind:
                    case LiveKind.POST:
                        if not delivery.admit(event.entry):
                            continue  # the replay or the hub's recent posts had it
                        shown = await self._shown(reader_id, event.entry)
                        if shown is not None:
                            yield self._message(reader_id, shown, delivery)
                    case LiveKind.REMOVED:
                        yield LiveMessage(removed_post_id=event.entry.post_id)
                    case LiveKind.HIDDEN:
                        yield LiveMessage(hidden_author_id=event.entry.author_id)

    def _message(self, reader_id: int, post: Post, delivery: Delivery) -> LiveMessage:
        position = delivery.position
        assert position is not None  # a post was admitted
        return LiveMessage(post=post, event_id=self._positions.encode(reader_id, position))

    async def _shown(self, reader_id: int, entry: FeedEntry) -> Post | None:
        """The post as the reader's feed shows it; None once it is deleted or its author is
        being erased."""
        shared = await self._shared.get(entry)
        if shared is None:
            return None
        post, hydration = shared
        engagement = hydration.engagement.get(post.id)
        if engagement is not None and engagement.likes > 0:
            # Somebody liked it already: maybe the reader (from another stream or device).
            hydration |= await self._posts.hydrate([post.id], [], reader_id)
        return as_seen(post, hydration)


async def receiving(hub: StreamHub, wait_s: float) -> None:
    """Returns once the process's tail runs (every event from now on reaches the hub)."""
    if not await hub.wait_receiving(wait_s):
        raise Unavailable("the live feed is starting; reconnect in a moment")


@asynccontextmanager
async def registered(hub: StreamHub, stream: Stream) -> AsyncIterator[Stream]:
    """A stream the hub just opened, closed on the way out. Ended because its reader opened
    too many, it raises ResourceExhausted: a client that simply reconnected would close
    another of its own streams in turn. Ended otherwise (it overflowed, the tail stopped),
    the call just ends and the client reconnects from its last id."""
    try:
        yield stream
        if stream.closed is Closed.REPLACED:
            raise ResourceExhausted(stream.closed.value, reason="TOO_MANY_STREAMS")
    finally:
        hub.close(stream)


class _SharedHydration:
    """One read of a new post, its author and counts for every stream that shows it: a post
    of an author with 2,000 followers online is read once, not 2,000 times."""

    def __init__(self, posts: PostSource, clock: Callable[[], float]) -> None:
        self._posts = posts
        self._clock = clock
        self._reads: OrderedDict[int, tuple[float, asyncio.Future[_Shared]]] = OrderedDict()

    async def get(self, entry: FeedEntry) -> _Shared:
        now = self._clock()
        while self._reads and (
            len(self._reads) > SHARED_POSTS
            or next(iter(self._reads.values()))[0] < now - SHARED_FOR_S
        ):
            self._reads.popitem(last=False)
        found = self._reads.get(entry.post_id)
        if found is None:
            found = (now, asyncio.ensure_future(self._read(entry)))
            self._reads[entry.post_id] = found
        read = found[1]
        try:
            # Shielded: a stream that closes while it waits does not cancel the others' read.
            return await asyncio.shield(read)
        except Exception:
            if self._reads.get(entry.post_id) == found:
                del self._reads[entry.post_id]  # the next stream tries again
            raise

    async def _read(self, entry: FeedEntry) -> _Shared:
        # No reader: the counts and the author are everyone's; the reader's like is asked
        # for apart (ADR 14).
        posts, hydration = await asyncio.gather(
            self._posts.get_many([entry.post_id]),
            self._posts.hydrate([entry.post_id], [entry.author_id], reader_id=0),
        )
        post = posts.get(entry.post_id)
        if post is None or hydration.hidden(post):
            return None
        return post, hydration


_Shared = tuple[Post, Hydration] | None

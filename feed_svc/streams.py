"""The live streams open on one feed_svc process (ADR 14): which readers each new post,
deletion and unfollow concerns, and a bounded queue per stream that a slow client cannot
turn into a slow process.

The hub is fed by the process's tail of the event log (every event reaches every process) and
read by the streaming RPCs, one queue each.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from feed_svc.models import FeedEntry

# Events a stream holds for a client that has not read them yet; one more and it is closed
# (the client reconnects from its last event id and loses nothing).
QUEUE_CAPACITY = 256
# Streams one reader may hold open on a process (tabs, devices); the oldest is closed first.
STREAMS_PER_READER = 5
# How long the hub keeps the posts it has seen, for streams that open meanwhile: a post the
# tail delivered just before a stream opened may not be in the reader's timeline yet when
# the stream's replay reads it (fan-out runs elsewhere, later), so the new stream gets it
# from here. Fan-out takes well under a second (docs/capacity.md).
RECENT_S = 5.0


class LiveKind(enum.Enum):
    POST = "post"  # a post entered the reader's feed
    REMOVED = "removed"  # a post left it: deleted
    HIDDEN = "hidden"  # every post of an author left it: unfollowed
    NOTIFIED = "notified"  # the reader's notifications changed: read what is new


@dataclass(frozen=True, slots=True)
class LiveEvent:
    kind: LiveKind
    entry: FeedEntry  # REMOVED: the deleted post's; HIDDEN: only author_id is meaningful


class Closed(enum.Enum):
    OVERFLOW = "the client did not read its events fast enough"
    REPLACED = "the reader opened more streams than allowed; the oldest was closed"
    INTERRUPTED = "the process stopped receiving events for a moment"


@dataclass(frozen=True, slots=True)
class _FollowChange:
    at: float
    follower_id: int
    followee_id: int
    following: bool


class Stream:
    """One open stream: what the hub queued for it, in order. `closed` says why the hub ended
    it."""

    def __init__(
        self,
        reader_id: int,
        following: Iterable[int],
        capacity: int,
        *,
        notifications: bool = False,
    ) -> None:
        self.reader_id = reader_id
        self.following = set(following)
        self.notifications = notifications  # a stream of notifications, not of the home feed
        self.closed: Closed | None = None
        self._queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(capacity)

    async def next(self) -> LiveEvent | None:
        """The next event; None once the hub has ended the stream (what it still held is
        dropped: the client reconnects from its last event id and loses nothing)."""
        if self.closed is not None:
            return None
        return await self._queue.get()

    def offer(self, event: LiveEvent) -> bool:
        """Queues the event; False when the queue is full (the hub then ends the stream)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def end(self, why: Closed) -> None:
        self.closed = why
        if self._queue.empty():  # wakes a reader waiting for the next event
            self._queue.put_nowait(None)


class StreamHub:
    """The streams open on this process, indexed by whom their readers follow.

    Example:
        hub = StreamHub()
        stream = hub.open(reader_id, following=followee_ids)
        hub.post_published(entry)            # from the event tail
        event = await stream.next()
        hub.close(stream)
    """

    def __init__(
        self,
        *,
        capacity: int = QUEUE_CAPACITY,
        per_reader: int = STREAMS_PER_READER,
        recent_s: float = RECENT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = capacity
        self._per_reader = per_reader
        self._recent_s = recent_s
        self._clock = clock
        self._recent: deque[tuple[float, FeedEntry]] = deque()  # posts seen, oldest first
        # Follows and unfollows seen, oldest first: a stream opens with the following set
        # its reader's graph read gave, which may predate the last ones (applied again, in
        # order, they leave the set as the last one says, whenever the read happened).
        self._recent_follows: deque[_FollowChange] = deque()
        self._by_reader: dict[int, list[Stream]] = defaultdict(list)
        self._notified: dict[int, list[Stream]] = defaultdict(list)  # notification streams
        # Set while the tail feeds the hub: a stream opened before would miss events.
        self._receiving = asyncio.Event()
        # Author -> readers with an open stream who see their posts (followers, and the
        # author themself: one's own posts are in one's feed).
        self._audience: dict[int, set[int]] = defaultdict(set)

    def __len__(self) -> int:
        by_reader = self._by_reader.values()
        return sum(len(streams) for streams in (*by_reader, *self._notified.values()))

    def open(self, reader_id: int, following: Iterable[int]) -> Stream:
        """A new stream for the reader, who follows `following` (as read from the graph
        within the last RECENT_S), handed the posts of the last RECENT_S it would show."""
        stream = Stream(reader_id, following, self._capacity)
        self._forget_old()
        for change in self._recent_follows:
            if change.follower_id == reader_id:
                if change.following:
                    stream.following.add(change.followee_id)
                else:
                    stream.following.discard(change.followee_id)
        self._register(self._by_reader[reader_id], stream)
        audience = stream.following | {reader_id}
        for author_id in audience:
            self._audience[author_id].add(reader_id)
        for _, entry in self._recent:
            if entry.author_id in audience:
                self._deliver(stream, LiveEvent(LiveKind.POST, entry))
        return stream

    def open_notifications(self, reader_id: int) -> Stream:
        """A stream woken (a NOTIFIED event) whenever the reader's notifications change; one
        pending wake-up stands for any number of changes."""
        stream = Stream(reader_id, (), capacity=1, notifications=True)
        self._register(self._notified[reader_id], stream)
        return stream

    def notifications_changed(self, user_id: int) -> None:
        for stream in self._notified.get(user_id, []):
            stream.offer(LiveEvent(LiveKind.NOTIFIED, FeedEntry(0, 0, user_id)))  # full: pending

    def close(self, stream: Stream) -> None:
        reader_id = stream.reader_id
        if stream.notifications:
            notified = self._notified.get(reader_id, [])
            if stream in notified:
                notified.remove(stream)
                if not notified:
                    del self._notified[reader_id]
            return
        streams = self._by_reader.get(reader_id, [])
        if stream not in streams:
            return
        streams.remove(stream)
        if not streams:
            del self._by_reader[reader_id]
        # The authors only this stream followed lose the reader from their audience.
        still = set().union(*(s.following for s in streams)) | ({reader_id} if streams else set())
        for author_id in (stream.following | {reader_id}) - still:
            readers = self._audience.get(author_id)
            if readers is not None:
                readers.discard(reader_id)
                if not readers:
                    del self._audience[author_id]

    def post_published(self, entry: FeedEntry) -> None:
        self._forget_old()
        self._recent.append((self._clock(), entry))
        self._send(entry.author_id, LiveEvent(LiveKind.POST, entry))

    def post_deleted(self, entry: FeedEntry) -> None:
        # A stream opened from now on must not be handed the deleted post.
        self._recent = deque((at, e) for at, e in self._recent if e.post_id != entry.post_id)
        self._send(entry.author_id, LiveEvent(LiveKind.REMOVED, entry))

    def followed(self, follower_id: int, followee_id: int) -> None:
        """The follower's streams see the followee's posts from now on."""
        self._remember_follow(follower_id, followee_id, following=True)
        for stream in self._by_reader.get(follower_id, []):
            stream.following.add(followee_id)
        if follower_id in self._by_reader:
            self._audience[followee_id].add(follower_id)

    def unfollowed(self, follower_id: int, followee_id: int) -> None:
        """The follower's streams drop the followee's posts, and are told to hide them."""
        self._remember_follow(follower_id, followee_id, following=False)
        streams = list(self._by_reader.get(follower_id, []))
        if not streams or follower_id == followee_id:
            return
        for stream in streams:
            stream.following.discard(followee_id)
        self._audience[followee_id].discard(follower_id)
        if not self._audience[followee_id]:
            del self._audience[followee_id]
        hidden = LiveEvent(LiveKind.HIDDEN, FeedEntry(0, 0, followee_id))
        for stream in streams:
            self._deliver(stream, hidden)

    def receiving(self) -> None:
        """The tail is running: every event published from now on reaches the hub."""
        self._receiving.set()

    async def wait_receiving(self, timeout_s: float) -> bool:
        """Whether the tail runs, waiting up to `timeout_s` for it (a process starting)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._receiving.wait()
        except TimeoutError:
            return False
        return True

    def interrupt(self) -> None:
        """Ends every stream: the events that reach this process were interrupted (the tail
        failed), so an open stream may have missed some. Each client reconnects from its last
        event id and the replay sends what it missed."""
        self._receiving.clear()
        for streams in [*self._by_reader.values(), *self._notified.values()]:
            for stream in list(streams):
                self._end(stream, Closed.INTERRUPTED)

    def _register(self, streams: list[Stream], stream: Stream) -> None:
        streams.append(stream)
        if len(streams) > self._per_reader:
            self._end(streams[0], Closed.REPLACED)

    def _remember_follow(self, follower_id: int, followee_id: int, *, following: bool) -> None:
        self._forget_old()
        self._recent_follows.append(
            _FollowChange(self._clock(), follower_id, followee_id, following)
        )

    def _forget_old(self) -> None:
        oldest = self._clock() - self._recent_s
        while self._recent and self._recent[0][0] < oldest:
            self._recent.popleft()
        while self._recent_follows and self._recent_follows[0].at < oldest:
            self._recent_follows.popleft()

    def _send(self, author_id: int, event: LiveEvent) -> None:
        for reader_id in list(self._audience.get(author_id, ())):
            for stream in list(self._by_reader.get(reader_id, [])):
                # A reader's streams can disagree for a moment (one opened before a follow
                # event, one after): each gets what its own following set says.
                if author_id == reader_id or author_id in stream.following:
                    self._deliver(stream, event)

    def _deliver(self, stream: Stream, event: LiveEvent) -> None:
        if not stream.offer(event):
            self._end(stream, Closed.OVERFLOW)

    def _end(self, stream: Stream, why: Closed) -> None:
        stream.end(why)
        self.close(stream)

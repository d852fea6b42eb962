"""The live home feed's bookkeeping (ADR 14): what one open stream has delivered, the position
its event ids carry, and where a reconnecting client's replay starts.

A position is the key of the newest post delivered plus the ids of the posts delivered a
little below it. Posts of different authors can reach a stream out of order; naming the
recent ones lets a replay on any replica start below the newest key and send exactly what
the client has not had, with no duplicate and no gap.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass

from photoshare.post.v1.post_service_pb2 import Post

from common.errors import InvalidArgument
from common.signing import Signer
from feed_svc.feed import MAX_LIMIT, HomeFeed
from feed_svc.models import FeedEntry, FeedKey

# How far below the newest key a post may arrive and still be replayed after a reconnect:
# events of different authors are milliseconds apart in the log; an outbox relaying after a
# broker outage is the case left out (ADR 14).
WINDOW_MS = 5_000
# Ids a position names at most (the event id stays short): the newest are kept.
MAX_NAMED = 32
# Post ids a stream remembers having sent, to drop a redelivered event.
REMEMBERED = 1_024
# Posts a reconnect replays at most; a client away longer reloads its feed instead.
REPLAY_LIMIT = 500


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Everything up to `newest` has been delivered. Of the posts above `floor` (WINDOW_MS
    below `newest`, or just below the oldest named when there were more than MAX_NAMED), those
    `named` have been, and no other: a replay sends the feed's posts above `floor`, skipping
    the named."""

    newest: FeedKey
    floor: FeedKey
    named: tuple[FeedKey, ...] = ()  # (published_at_ms, post_id), oldest first


class StreamPositions:
    """Positions as opaque, signed event ids bound to their reader.

    Example:
        positions = StreamPositions(Signer(secret, purpose="feed-stream"))
        event_id = positions.encode(reader_id, delivery.position)
        start = positions.decode(last_event_id, reader_id)   # InvalidArgument if altered
    """

    _HEAD = struct.Struct(">qqqqqB")  # reader, newest key, floor key, count of named keys
    _NAMED = struct.Struct(">Iq")  # a named key: ms below the newest, post id
    WHAT = "Last-Event-ID"

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def encode(self, reader_id: int, position: StreamPosition) -> str:
        named = position.named[-MAX_NAMED:]
        head = self._HEAD.pack(reader_id, *position.newest, *position.floor, len(named))
        newest_ms = position.newest[0]
        keys = b"".join(self._NAMED.pack(newest_ms - ms, post_id) for ms, post_id in named)
        return self._signer.sign(head + keys)

    def decode(self, token: str, reader_id: int) -> StreamPosition:
        payload = self._signer.verify(token, what=self.WHAT)
        size = self._HEAD.size
        try:
            owner, newest_ms, newest_id, floor_ms, floor_id, count = self._HEAD.unpack(
                payload[:size]
            )
            named = tuple(
                (newest_ms - below, post_id)
                for below, post_id in struct.iter_unpack(self._NAMED.format, payload[size:])
            )
            if len(named) != count:
                owner = None
        except struct.error:
            owner = None
        if owner != reader_id:
            raise InvalidArgument(
                f"{self.WHAT} belongs to another reader's stream; connect without it",
                field=self.WHAT,
            )
        return StreamPosition((newest_ms, newest_id), (floor_ms, floor_id), named)


class Delivery:
    """What one stream has sent: whether a post goes out, and the position after it.

    Example:
        delivery = Delivery(start)            # None: a new stream, from now on
        if delivery.admit(entry):
            send(post, id=positions.encode(reader_id, delivery.position))
    """

    def __init__(self, start: StreamPosition | None = None) -> None:
        self._newest: FeedKey | None = start.newest if start else None
        # A start's floor holds until the newest key passes it (posts below it were sent).
        self._lowest_floor: FeedKey | None = start.floor if start else None
        # Post id -> key, of the posts delivered within WINDOW_MS below the newest.
        self._recent: dict[int, FeedKey] = {}
        self._sent: OrderedDict[int, None] = OrderedDict()
        if start is not None:
            for key in start.named:
                self._recent[key[1]] = key
                self._remember(key[1])

    def admit(self, entry: FeedEntry) -> bool:
        """True once per post: the stream sends it. A post older than the newest delivered
        (it arrived out of order, or a replay found it) is admitted too."""
        if entry.post_id in self._sent:
            return False
        self._remember(entry.post_id)
        if self._newest is None or entry.key > self._newest:
            self._newest = entry.key
        self._recent[entry.post_id] = entry.key
        floor = self._newest[0] - WINDOW_MS
        for post_id, key in list(self._recent.items()):
            if key[0] < floor:
                del self._recent[post_id]
        return True

    @property
    def position(self) -> StreamPosition | None:
        """None until the stream has delivered a post (or started from a position)."""
        if self._newest is None:
            return None
        named = sorted(self._recent.values())[-MAX_NAMED:]
        floor: FeedKey = (self._newest[0] - WINDOW_MS, 0)
        if self._lowest_floor is not None:
            floor = max(floor, self._lowest_floor)
        if len(self._recent) > MAX_NAMED:
            # Posts below the oldest named are not named: a replay starts above them.
            floor = max(floor, (named[0][0], named[0][1] - 1))
        return StreamPosition(self._newest, floor, tuple(named))

    def _remember(self, post_id: int) -> None:
        self._sent[post_id] = None
        if len(self._sent) > REMEMBERED:
            self._sent.popitem(last=False)


def entry_of(post: Post) -> FeedEntry:
    """A hydrated feed post's place in the feed."""
    return FeedEntry(post.published_at.ToMilliseconds(), post.id, post.author_id)


async def missed(
    feed: HomeFeed, reader_id: int, start: StreamPosition, limit: int = REPLAY_LIMIT
) -> list[Post] | None:
    """The posts of the reader's feed above `start.floor`, oldest first, as the feed shows
    them (hydrated, hidden ones left out); the caller's Delivery drops those already sent.
    None when there are more than `limit`: the client should reload its feed instead."""
    found: list[Post] = []
    cursor = ""
    while True:
        page = await feed.read(reader_id, MAX_LIMIT, cursor)
        above = [p for p in page.posts if entry_of(p).key > start.floor]
        found += above
        if len(found) > limit:
            return None
        if len(above) < len(page.posts) or page.next_cursor is None:
            return found[::-1]
        cursor = page.next_cursor

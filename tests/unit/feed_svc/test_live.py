"""The live feed's bookkeeping: a client that reconnects from any event id gets every post it
missed, none twice, even when posts reached the stream out of order."""

from __future__ import annotations

import random

import pytest

from common.errors import InvalidArgument
from common.signing import Signer
from feed_svc.live import (
    MAX_NAMED,
    WINDOW_MS,
    Delivery,
    StreamPosition,
    StreamPositions,
    entry_of,
    missed,
)
from feed_svc.models import FeedEntry
from tests.unit.feed_svc.test_feed import World

READER = 1


def post(published_at_ms: int, post_id: int) -> FeedEntry:
    return FeedEntry(published_at_ms, post_id, author_id=post_id % 5)


def replay(feed: list[FeedEntry], start: StreamPosition) -> list[FeedEntry]:
    """What a reconnect sends before live events: the feed above the floor, oldest first,
    through a Delivery that starts from the client's position."""
    delivery = Delivery(start)
    above = sorted((e for e in feed if e.key > start.floor), key=lambda e: e.key)
    return [e for e in above if delivery.admit(e)]


def test_a_stream_sends_each_post_once_and_its_position_follows_the_newest() -> None:
    delivery = Delivery()
    assert delivery.position is None
    assert delivery.admit(post(1_000, 1))
    assert delivery.admit(post(2_000, 2))
    assert not delivery.admit(post(1_000, 1))  # a redelivered event
    assert delivery.admit(post(1_500, 3))  # late, still sent
    position = delivery.position
    assert position is not None
    assert position.newest == (2_000, 2)
    assert position.floor == (2_000 - WINDOW_MS, 0)
    assert position.named == ((1_000, 1), (1_500, 3), (2_000, 2))


def test_a_post_that_arrives_out_of_order_while_the_client_is_away_is_replayed() -> None:
    live = Delivery()
    feed = [post(1_000, 1), post(3_000, 3)]
    for entry in feed:
        live.admit(entry)
    last_seen = live.position
    assert last_seen is not None
    # The client drops; meanwhile a post older than the newest it saw arrives, then a newer.
    feed += [post(2_000, 2), post(4_000, 4)]
    assert [e.post_id for e in replay(feed, last_seen)] == [2, 4]


def test_a_replay_never_resends_and_never_skips_across_many_reconnects() -> None:
    rng = random.Random(5)
    feed: list[FeedEntry] = []
    received: list[int] = []
    position: StreamPosition | None = None
    clock = 10_000
    for _connection in range(40):
        delivery = Delivery(position)
        if position is not None:
            replayed = replay(feed, position)
            for entry in replayed:
                delivery.admit(entry)
            received += [e.post_id for e in replayed]
        for _ in range(rng.randrange(0, 6)):  # live, some out of order by up to 2 s
            clock += rng.randrange(1, 400)
            entry = post(clock - rng.randrange(0, 2_000), len(feed) + 1)
            feed.append(entry)
            if delivery.admit(entry):
                received.append(entry.post_id)
        position = delivery.position or position
        # Posts published while the client is away.
        for _ in range(rng.randrange(0, 4)):
            clock += rng.randrange(1, 400)
            feed.append(post(clock - rng.randrange(0, 2_000), len(feed) + 1))
    final = replay(feed, position) if position is not None else []
    received += [e.post_id for e in final]
    assert sorted(received) == [e.post_id for e in feed]  # every post, none twice


def test_more_recent_posts_than_an_id_can_name_move_the_floor_up_instead() -> None:
    delivery = Delivery()
    burst = [post(1_000 + i, i + 1) for i in range(MAX_NAMED + 8)]
    for entry in burst:
        delivery.admit(entry)
    position = delivery.position
    assert position is not None
    assert len(position.named) == MAX_NAMED
    assert replay(burst, position) == []  # nothing sent twice
    resumed = Delivery(position).position  # reconnected, nothing new yet
    assert resumed is not None
    assert replay(burst, resumed) == []
    assert [e.post_id for e in replay([*burst, post(5_000, 99)], position)] == [99]


def test_an_event_id_is_signed_and_bound_to_its_reader() -> None:
    positions = StreamPositions(Signer(b"s" * 32, purpose="feed-stream"))
    position = StreamPosition((2_000, 2), (1_990, 7), ((1_995, 1), (2_000, 2)))
    token = positions.encode(READER, position)
    assert positions.decode(token, READER) == position
    with pytest.raises(InvalidArgument, match="another reader's stream"):
        positions.decode(token, READER + 1)
    with pytest.raises(InvalidArgument, match="Last-Event-ID is not valid"):
        positions.decode(token[:-2] + "AA", READER)


async def test_a_reconnect_gets_what_the_feed_gained_since_its_position_oldest_first() -> None:
    world = World()
    world.graph.follow(READER, 2)
    await world.feed.ensure_timeline(READER)
    live = Delivery()
    seen = [await world.post(2) for _ in range(3)]
    for post_id in seen:
        live.admit(entry_of(world.posts.posts[post_id]))
    start = live.position
    assert start is not None
    away = [await world.post(2), await world.post(READER)]

    posts = await missed(world.feed, READER, start)
    assert posts is not None
    resumed = Delivery(start)
    assert [p.id for p in posts if resumed.admit(entry_of(p))] == away


async def test_posts_below_the_floor_are_not_read_and_a_long_absence_asks_for_a_reload() -> None:
    world = World()
    world.graph.follow(READER, 2)
    await world.feed.ensure_timeline(READER)
    old = [await world.post(2) for _ in range(3)]
    world.clock += 2 * WINDOW_MS
    newer = await world.post(2)
    live = Delivery()
    live.admit(entry_of(world.posts.posts[newer]))
    start = live.position
    assert start is not None
    away = [await world.post(2) for _ in range(3)]
    posts = await missed(world.feed, READER, start)
    assert posts is not None
    assert [p.id for p in posts] == [newer, *away]  # none of `old`: below the floor
    assert not set(old) & {p.id for p in posts}
    assert await missed(world.feed, READER, start, limit=2) is None

"""The stream hub: each event reaches the open streams it concerns and no other, and a client
that does not read is dropped without holding anyone else up."""

from __future__ import annotations

import asyncio

from feed_svc.models import FeedEntry
from feed_svc.streams import Closed, LiveKind, Stream, StreamHub

ADA, BOB, CY, DEE = 1, 2, 3, 4


async def drain(stream: Stream) -> list[tuple[LiveKind, int]]:
    """What the stream holds now: (kind, post id, or the author hidden)."""
    events: list[tuple[LiveKind, int]] = []
    while True:
        try:
            got = await asyncio.wait_for(stream.next(), timeout=0.01)
        except TimeoutError:
            return events
        if got is None:
            return events
        key = got.entry.author_id if got.kind is LiveKind.HIDDEN else got.entry.post_id
        events.append((got.kind, key))


async def test_a_post_reaches_the_streams_of_its_authors_followers_and_the_author() -> None:
    hub = StreamHub()
    bob = hub.open(BOB, following=[ADA])
    cy = hub.open(CY, following=[DEE])
    ada = hub.open(ADA, following=[])
    hub.post_published(FeedEntry(1_000, 10, ADA))
    assert await drain(bob) == [(LiveKind.POST, 10)]
    assert await drain(ada) == [(LiveKind.POST, 10)]  # one's own post is in one's feed
    assert await drain(cy) == []


async def test_follows_and_unfollows_change_what_an_open_stream_gets() -> None:
    hub = StreamHub()
    bob = hub.open(BOB, following=[])
    hub.followed(BOB, ADA)
    hub.post_published(FeedEntry(1_000, 10, ADA))
    hub.unfollowed(BOB, ADA)
    hub.post_published(FeedEntry(2_000, 11, ADA))
    hub.post_deleted(FeedEntry(1_000, 10, ADA))
    assert await drain(bob) == [(LiveKind.POST, 10), (LiveKind.HIDDEN, ADA)]
    hub.followed(CY, ADA)  # no stream open for cy: nothing to keep
    assert len(hub) == 1


async def test_a_deleted_post_is_removed_from_the_streams_that_could_show_it() -> None:
    hub = StreamHub()
    bob = hub.open(BOB, following=[ADA])
    hub.post_published(FeedEntry(1_000, 10, ADA))
    hub.post_deleted(FeedEntry(1_000, 10, ADA))
    assert await drain(bob) == [(LiveKind.POST, 10), (LiveKind.REMOVED, 10)]


async def test_a_client_that_does_not_read_is_dropped_and_the_others_go_on() -> None:
    hub = StreamHub(capacity=3)
    slow = hub.open(BOB, following=[ADA])
    fast = hub.open(CY, following=[ADA])
    received: list[tuple[LiveKind, int]] = []
    for post_id in range(1, 6):
        hub.post_published(FeedEntry(post_id * 1_000, post_id, ADA))
        received += await drain(fast)
    assert received == [(LiveKind.POST, i) for i in range(1, 6)]
    assert slow.closed is Closed.OVERFLOW
    assert await drain(slow) == []  # ended: the client reconnects from its last id
    assert len(hub) == 1
    hub.post_published(FeedEntry(9_000, 9, ADA))
    assert await drain(fast) == [(LiveKind.POST, 9)]


async def test_a_reader_holds_a_bounded_number_of_streams_the_oldest_goes_first() -> None:
    hub = StreamHub(per_reader=2)
    first, second = hub.open(BOB, [ADA]), hub.open(BOB, [ADA])
    waiting = asyncio.create_task(first.next())  # its RPC waits for the next event
    await asyncio.sleep(0)
    third = hub.open(BOB, [ADA])
    assert await asyncio.wait_for(waiting, timeout=1) is None  # woken: the stream ended
    assert first.closed is Closed.REPLACED
    assert (second.closed, third.closed) == (None, None)
    hub.post_published(FeedEntry(1_000, 10, ADA))
    assert await drain(third) == [(LiveKind.POST, 10)]
    assert await drain(first) == []


async def test_each_of_a_readers_streams_gets_what_its_own_following_set_says() -> None:
    hub = StreamHub()
    older, newer = hub.open(BOB, following=[ADA]), hub.open(BOB, following=[ADA, CY])
    hub.post_published(FeedEntry(1_000, 10, CY))
    hub.post_published(FeedEntry(1_001, 11, BOB))
    assert await drain(older) == [(LiveKind.POST, 11)]
    assert await drain(newer) == [(LiveKind.POST, 10), (LiveKind.POST, 11)]


async def test_closing_the_last_stream_forgets_the_reader() -> None:
    hub = StreamHub()
    one, two = hub.open(BOB, [ADA]), hub.open(BOB, [ADA, CY])
    hub.close(two)
    hub.post_published(FeedEntry(1_000, 10, CY))  # only the closed stream followed cy
    hub.post_published(FeedEntry(1_001, 11, ADA))
    assert await drain(one) == [(LiveKind.POST, 11)]
    hub.close(one)
    hub.close(one)  # twice is harmless
    assert len(hub) == 0
    hub.post_published(FeedEntry(2_000, 12, ADA))


async def test_a_stream_that_opens_just_after_a_post_still_gets_it() -> None:
    # The tail may deliver a post a moment before the stream opens, and before fan-out has
    # put it in the reader's timeline, where the stream's replay looks: the hub hands it on.
    now = [0.0]
    hub = StreamHub(recent_s=5.0, clock=lambda: now[0])
    hub.post_published(FeedEntry(1_000, 10, ADA))
    hub.post_published(FeedEntry(1_001, 11, CY))
    hub.post_published(FeedEntry(1_002, 12, ADA))
    hub.post_deleted(FeedEntry(1_002, 12, ADA))
    now[0] = 1.0
    bob = hub.open(BOB, following=[ADA])
    assert await drain(bob) == [(LiveKind.POST, 10)]  # not cy's, not the deleted one
    now[0] = 7.0
    dee = hub.open(DEE, following=[ADA])
    assert await drain(dee) == []  # long enough ago to be in every timeline


async def test_a_follow_seen_while_the_stream_was_opening_is_not_lost() -> None:
    # The reader's following set is read from the graph a moment before the stream opens; a
    # follow or unfollow the tail delivered meanwhile still counts, whichever came first.
    now = [0.0]
    hub = StreamHub(recent_s=5.0, clock=lambda: now[0])
    hub.followed(BOB, CY)  # after the graph read: not in the set below
    hub.unfollowed(BOB, DEE)
    hub.followed(BOB, DEE)  # the last change for a pair wins
    hub.unfollowed(BOB, ADA)
    hub.followed(CY, ADA)  # someone else's
    bob = hub.open(BOB, following=[ADA])
    for post_id, author in enumerate((ADA, CY, DEE), start=10):
        hub.post_published(FeedEntry(1_000 + post_id, post_id, author))
    assert await drain(bob) == [(LiveKind.POST, 11), (LiveKind.POST, 12)]
    now[0] = 6.0  # older changes are in any graph read by now: the read is what counts
    again = hub.open(BOB, following=[ADA])
    hub.post_published(FeedEntry(2_000, 20, CY))
    hub.post_published(FeedEntry(2_001, 21, ADA))
    assert await drain(again) == [(LiveKind.POST, 21)]


async def test_an_interrupted_tail_ends_every_stream_so_that_clients_resume() -> None:
    hub = StreamHub()
    bob, cy = hub.open(BOB, [ADA]), hub.open(CY, [])
    waiting = asyncio.create_task(bob.next())
    await asyncio.sleep(0)
    hub.interrupt()
    assert await asyncio.wait_for(waiting, timeout=1) is None
    assert (bob.closed, cy.closed) == (Closed.INTERRUPTED, Closed.INTERRUPTED)
    assert len(hub) == 0

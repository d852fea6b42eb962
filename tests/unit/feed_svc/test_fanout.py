"""Fan-out on write, the celebrity threshold, and authors crossing it either way without a
gap in their followers' feeds."""

from __future__ import annotations

import pytest

from common.errors import Unavailable
from feed_svc.models import FeedEntry, PulledAuthor
from feed_svc.threshold import ThresholdPolicy
from tests.unit.feed_svc.test_feed import READER, THRESHOLD, FailingPushes, World

AUTHOR = 2


async def test_ordinary_author_is_pushed_to_followers_and_self() -> None:
    world = World()
    fans = range(10, 10 + THRESHOLD - 1)  # one short of a celebrity
    for fan in fans:
        world.graph.follow(fan, 2)
    for owner in (2, *fans):
        await world.feed.ensure_timeline(owner)
    delivered = await world.fanout.post_published(world.posts.add_published(2, 5_000))
    assert delivered == len(fans)
    for owner in (2, *fans):
        page = await world.store.page(owner, None, 10)
        assert page is not None
        assert [e.author_id for e in page.entries] == [2]


async def test_author_at_threshold_is_not_pushed() -> None:
    world = World()
    for fan in range(10, 10 + THRESHOLD):
        world.graph.follow(fan, 2)
        await world.feed.ensure_timeline(fan)
    assert await world.fanout.post_published(world.posts.add_published(2, 5_000)) == 0
    page = await world.store.page(10, None, 10)
    assert page is not None
    assert page.entries == []


async def test_push_skips_absent_timelines_and_is_idempotent() -> None:
    world = World()
    world.graph.follow(10, 2)
    entry = world.posts.add_published(2, 5_000)
    await world.fanout.post_published(entry)
    assert await world.store.page(10, None, 10) is None  # rebuilt on first read instead
    await world.feed.ensure_timeline(10)
    await world.fanout.post_published(entry)
    await world.fanout.post_published(entry)
    page = await world.store.page(10, None, 10)
    assert page is not None
    assert page.entries == [FeedEntry(5_000, entry.post_id, 2)]


async def test_a_deleted_post_leaves_every_timeline_it_was_pushed_to() -> None:
    world = World()
    for follower in (10, 11):  # under the celebrity threshold: pushed
        world.graph.follow(follower, AUTHOR)
        await world.feed.ensure_timeline(follower)
    await world.feed.ensure_timeline(AUTHOR)
    gone = world.posts.add_published(AUTHOR, 1_000)
    kept = world.posts.add_published(AUTHOR, 2_000)
    for entry in (gone, kept):
        await world.fanout.post_published(entry)
    await world.fanout.post_deleted(gone)
    await world.fanout.post_deleted(gone)  # again: nothing changes
    for owner in (10, 11, AUTHOR):
        page = await world.store.page(owner, None, 10)
        assert page is not None
        assert [e.post_id for e in page.entries] == [kept.post_id]


async def timeline_authors(world: World, owner: int) -> list[int]:
    page = await world.store.page(owner, None, 100)
    assert page is not None
    return [e.post_id for e in page.entries]


async def followed_by(world: World, author: int, count: int) -> None:
    """`count` followers with timelines, READER first."""
    for fan in [READER, *range(100, 100 + count - 1)]:
        world.graph.follow(fan, author)
        await world.feed.ensure_timeline(fan)


async def test_an_author_who_becomes_pulled_keeps_earlier_posts_in_the_feed() -> None:
    world = World()
    await followed_by(world, AUTHOR, THRESHOLD - 1)
    pushed = [await world.post(AUTHOR) for _ in range(2)]
    world.graph.follow(50, AUTHOR)  # the threshold's follower
    world.clock += 10
    entry = world.posts.add_published(AUTHOR, world.clock)
    assert await world.fanout.post_published(entry) == 0
    assert await world.pulled.get([AUTHOR]) == {AUTHOR: PulledAuthor(entry.key)}
    after = [await world.post(AUTHOR) for _ in range(2)]
    assert await timeline_authors(world, READER) == pushed[::-1]  # nothing pushed since
    assert await world.read_all() == [*after[::-1], entry.post_id, *pushed[::-1]]


async def test_a_pulled_author_pushed_again_has_every_pulled_post_backfilled() -> None:
    world = World()
    await followed_by(world, AUTHOR, THRESHOLD)
    before = [await world.post(AUTHOR) for _ in range(3)]  # pulled from the first
    assert await timeline_authors(world, READER) == []
    world.threshold.current = THRESHOLD * 2  # pushed again below 80% of it: 4
    newest = await world.post(AUTHOR)
    assert await world.pulled.get([AUTHOR]) == {}
    everything = [newest, *before[::-1]]
    assert await timeline_authors(world, READER) == everything
    assert await timeline_authors(world, 100) == everything
    assert await world.read_all() == everything


async def test_an_author_near_the_threshold_does_not_switch_back_and_forth() -> None:
    world = World()
    await followed_by(world, AUTHOR, THRESHOLD + 1)
    await world.post(AUTHOR)
    world.threshold.current = THRESHOLD + 2  # above the author, but within the hysteresis
    assert await world.fanout.post_published(world.posts.add_published(AUTHOR, 5_000)) == 0
    assert AUTHOR in await world.pulled.get([AUTHOR])


async def test_a_push_again_cut_short_is_finished_by_the_retry_and_reads_miss_nothing() -> None:
    world = World(store=FailingPushes(failing_owner=-1))
    await followed_by(world, AUTHOR, THRESHOLD)
    before = [await world.post(AUTHOR) for _ in range(3)]
    world.threshold.current = THRESHOLD * 2
    assert isinstance(world.store, FailingPushes)
    world.store.failing_owner = 100  # its Redis went down mid-way
    world.clock += 10
    newest = world.posts.add_published(AUTHOR, world.clock)
    with pytest.raises(Unavailable):
        await world.fanout.post_published(newest)
    assert (await world.pulled.get([AUTHOR]))[AUTHOR].leaving
    everything = [newest.post_id, *before[::-1]]
    assert await world.read_all() == everything  # still pulled while it is leaving
    world.graph.follow(60, AUTHOR)  # a follow while leaving is backfilled
    await world.feed.ensure_timeline(60)
    await world.fanout.followed(60, AUTHOR)
    assert await timeline_authors(world, 60) == everything
    world.store.failing_owner = -1
    await world.fanout.post_published(newest)  # the event again
    assert await world.pulled.get([AUTHOR]) == {}
    assert await timeline_authors(world, 100) == everything
    assert await world.read_all() == everything


async def test_unfollows_down_to_the_lowest_thresholds_hysteresis_push_an_author_again() -> None:
    world = World()
    await followed_by(world, AUTHOR, THRESHOLD)
    pulled = [await world.post(AUTHOR) for _ in range(2)]
    assert world.threshold.policy.pushed_again_below(THRESHOLD) == 2
    world.graph.unfollow(101, AUTHOR)
    await world.fanout.unfollowed(101, AUTHOR)  # 2 followers left: still pulled
    assert AUTHOR in await world.pulled.get([AUTHOR])
    world.graph.unfollow(100, AUTHOR)
    await world.fanout.unfollowed(100, AUTHOR)  # 1 follower: pushed again
    assert await world.pulled.get([AUTHOR]) == {}
    assert await timeline_authors(world, READER) == pulled[::-1]
    assert await world.read_all() == pulled[::-1]


async def test_the_threshold_moves_with_the_write_budget_and_no_post_is_ever_missed() -> None:
    policy = ThresholdPolicy(
        start=4, minimum=2, maximum=8, write_budget=2, window_s=1, calm_windows=2
    )
    world = World(threshold=policy)
    await followed_by(world, AUTHOR, 3)
    posted: list[int] = []

    async def post_and_read() -> None:
        posted.append(await world.post(AUTHOR))
        assert await world.read_all() == posted[::-1]

    await post_and_read()  # pushed: 3 followers < 4
    assert await timeline_authors(world, READER) == posted[::-1]
    world.clock += 1_000
    await post_and_read()  # closes a window of 3 writes/s, over the budget: down to 2
    assert world.threshold.current == 2
    await post_and_read()  # 3 followers >= 2: pulled from here
    await post_and_read()
    assert AUTHOR in await world.pulled.get([AUTHOR])
    world.clock += 4_000  # calm windows: up to 4, where 3 is still within the hysteresis
    await post_and_read()
    assert world.threshold.current == 4
    assert AUTHOR in await world.pulled.get([AUTHOR])
    world.clock += 2_000  # up to 8: pushed again, below 6
    await post_and_read()
    assert world.threshold.current == 8
    assert await world.pulled.get([AUTHOR]) == {}
    assert await timeline_authors(world, READER) == posted[::-1]

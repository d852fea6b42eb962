"""Fan-out on write and the celebrity threshold."""

from __future__ import annotations

from feed_svc.models import FeedEntry
from tests.unit.feed_svc.test_feed import THRESHOLD, World

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

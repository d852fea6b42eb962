"""StatsStore contract: each event counted once, a page's counts in one call."""

from __future__ import annotations

import asyncio

import pytest

from post_svc.models import Applied, PostStats
from post_svc.storage import make_stats_store
from post_svc.storage.base import StatsStore
from tests import servers


async def test_each_event_counts_once(stats_store: StatsStore) -> None:
    assert await stats_store.apply(1, "like:a", likes=1) == Applied(PostStats(1, 0), True)
    assert await stats_store.apply(1, "like:a", likes=1) == Applied(PostStats(1, 0), False)
    assert await stats_store.apply(1, "comment:b", comments=1) == Applied(PostStats(1, 1), True)
    assert await stats_store.apply(1, "unlike:a", likes=-1) == Applied(PostStats(0, 1), True)
    assert await stats_store.apply(2, "like:a", likes=1) == Applied(PostStats(1, 0), True)


async def test_concurrent_events_are_all_counted(stats_store: StatsStore) -> None:
    first = await asyncio.gather(*(stats_store.apply(3, f"like:{i}", likes=1) for i in range(20)))
    again = await asyncio.gather(*(stats_store.apply(3, f"like:{i}", likes=1) for i in range(20)))
    assert all(a.first_time for a in first)
    assert not any(a.first_time for a in again)
    assert (await stats_store.get_many([3]))[3] == PostStats(20, 0)


async def test_a_page_of_counts_includes_posts_nothing_happened_to(
    stats_store: StatsStore,
) -> None:
    await stats_store.apply(4, "like:x", likes=1)
    await stats_store.apply(5, "comment:y", comments=1)
    assert await stats_store.get_many([5, 4, 6, 4]) == {
        4: PostStats(1, 0),
        5: PostStats(0, 1),
        6: PostStats(0, 0),
    }
    assert await stats_store.get_many([]) == {}


@pytest.mark.production
async def test_a_deleted_posts_counts_say_so(stats_store: StatsStore) -> None:
    await stats_store.apply(1, "like:a", likes=1)
    await stats_store.mark_deleted(1)
    await stats_store.mark_deleted(2)  # nothing happened to it before
    await stats_store.mark_deleted(2)
    assert await stats_store.get_many([1, 2, 3]) == {
        1: PostStats(1, 0, deleted=True),
        2: PostStats(0, 0, deleted=True),
        3: PostStats(),
    }
    late = await stats_store.apply(1, "like:b", likes=1)  # an event after the deletion
    assert late == Applied(PostStats(2, 0, deleted=True), True)


async def test_counts_redis_lost_are_reloaded_from_cassandra() -> None:
    from post_svc.storage.redis_stats import RedisStatsStore

    store = make_stats_store(servers.production_settings())
    assert isinstance(store, RedisStatsStore)
    await store.open()
    try:
        for post_id in (7, 8):
            await store.apply(post_id, "like:x", likes=1)
        await store.apply(8, "comment:y", comments=1)
        await store._redis.delete(store._key(7), store._key(8))  # Redis lost them
        assert await store.get_many([7, 8]) == {7: PostStats(1, 0), 8: PostStats(1, 1)}
        assert await store.get_many([7, 8]) == {7: PostStats(1, 0), 8: PostStats(1, 1)}
        assert await store.apply(8, "like:z", likes=1) == Applied(PostStats(2, 1), True)
        await store.mark_deleted(7)
        await store._redis.delete(store._key(7))
        assert (await store.get_many([7]))[7].deleted  # reloaded with the mark
        await store._redis.delete(store._key(7))
        assert (await store.apply(7, "like:w", likes=1)).stats.deleted
    finally:
        await store.close()

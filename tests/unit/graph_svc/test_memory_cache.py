"""The embedded following cache's clocks: sets, dirty marks and celebrities expire."""

from __future__ import annotations

from graph_svc.storage.base import CELEBRITIES_TTL_S, DIRTY_S
from graph_svc.storage.memory_cache import InMemoryFollowingCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_entries_expire_and_a_dirty_mark_only_lasts_its_time() -> None:
    clock = Clock()
    cache = InMemoryFollowingCache(ttl_s=60, clock=clock)
    await cache.fill(1, [2])
    await cache.put_celebrities(1, 10, [2])
    clock.now += CELEBRITIES_TTL_S
    assert await cache.celebrities(1, 10) is None
    assert await cache.followed_among(1, [2]) == {2}
    clock.now += 60
    assert await cache.followed_among(1, [2]) is None
    await cache.invalidate(1)
    await cache.fill(1, [3])
    assert await cache.followed_among(1, [3]) is None
    clock.now += DIRTY_S
    await cache.fill(1, [3])
    assert await cache.followed_among(1, [3]) == {3}


async def test_the_least_recently_used_user_is_evicted() -> None:
    cache = InMemoryFollowingCache(max_users=2)
    for user in (1, 2):
        await cache.fill(user, [9])
    assert await cache.followed_among(1, [9]) == {9}  # 1 is now the most recently used
    await cache.fill(3, [9])
    assert await cache.followed_among(2, [9]) is None
    assert await cache.followed_among(1, [9]) == {9}

"""FollowingCache contract: absent vs empty, invalidation with a dirty mark, celebrities."""

from __future__ import annotations

from graph_svc.storage.base import FollowingCache


async def test_a_set_is_absent_until_filled_and_an_empty_one_is_not_absent(
    following_cache: FollowingCache,
) -> None:
    assert await following_cache.followed_among(1, [2, 3]) is None
    await following_cache.fill(1, [2, 5])
    assert await following_cache.followed_among(1, [2, 3, 5]) == {2, 5}
    assert await following_cache.followed_among(1, []) == set()
    await following_cache.fill(9, [])
    assert await following_cache.followed_among(9, [2]) == set()
    assert await following_cache.followed_among(2, [1]) is None  # one user's set only


async def test_invalidation_forgets_and_refuses_fills_that_may_predate_it(
    following_cache: FollowingCache,
) -> None:
    await following_cache.fill(1, [2])
    await following_cache.put_celebrities(1, 100, [2])
    await following_cache.invalidate(1)
    assert await following_cache.followed_among(1, [2]) is None
    assert await following_cache.celebrities(1, 100) is None
    await following_cache.fill(1, [2])  # a reload that read the store before the change
    assert await following_cache.followed_among(1, [2]) is None
    await following_cache.fill(2, [1])  # other users are not affected
    assert await following_cache.followed_among(2, [1]) == {1}


async def test_celebrities_are_kept_per_threshold(following_cache: FollowingCache) -> None:
    assert await following_cache.celebrities(1, 100) is None
    await following_cache.put_celebrities(1, 100, [7, 8])
    await following_cache.put_celebrities(1, 1000, [])
    assert await following_cache.celebrities(1, 100) == [7, 8]
    assert await following_cache.celebrities(1, 1000) == []
    assert await following_cache.celebrities(1, 10) is None

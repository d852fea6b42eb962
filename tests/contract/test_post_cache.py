"""PostCache contract."""

from __future__ import annotations

from feed_svc.storage.base import PostCache


async def test_cached_posts_come_back(post_cache: PostCache) -> None:
    assert await post_cache.get_posts([1, 2]) == {}
    await post_cache.put_posts({1: b"one", 2: b"two"})
    assert await post_cache.get_posts([2, 3, 1]) == {2: b"two", 1: b"one"}


async def test_a_fill_never_overwrites_but_a_refresh_does(post_cache: PostCache) -> None:
    await post_cache.put_posts({1: b"new"})
    await post_cache.put_posts({1: b"stale read"})
    assert await post_cache.get_posts([1]) == {1: b"new"}
    await post_cache.refresh_posts({1: b"newer"})
    assert await post_cache.get_posts([1]) == {1: b"newer"}


async def test_dropped_posts_are_gone(post_cache: PostCache) -> None:
    await post_cache.put_posts({1: b"one", 2: b"two"})
    await post_cache.drop_posts([1, 3])
    assert await post_cache.get_posts([1, 2]) == {2: b"two"}

"""PostCache contract."""

from __future__ import annotations

from feed_svc.storage.base import PostCache


async def test_cached_posts_come_back(post_cache: PostCache) -> None:
    assert await post_cache.get_posts([1, 2]) == {}
    await post_cache.put_posts({1: b"one", 2: b"two"})
    assert await post_cache.get_posts([2, 3, 1]) == {2: b"two", 1: b"one"}

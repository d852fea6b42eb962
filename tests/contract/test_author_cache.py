"""AuthorCache contract: misses, fills, and invalidation with a dirty mark."""

from __future__ import annotations

from post_svc.storage.base import AuthorCache


async def test_only_filled_users_are_found(author_cache: AuthorCache) -> None:
    assert await author_cache.get_many([1, 2]) == {}
    await author_cache.fill({1: b"ada", 3: b"cy"})
    assert await author_cache.get_many([1, 2, 3]) == {1: b"ada", 3: b"cy"}
    assert await author_cache.get_many([]) == {}
    await author_cache.fill({1: b"ada v2"})
    assert await author_cache.get_many([1]) == {1: b"ada v2"}


async def test_invalidation_forgets_and_refuses_fills_that_may_predate_it(
    author_cache: AuthorCache,
) -> None:
    await author_cache.fill({1: b"old", 2: b"bob"})
    await author_cache.invalidate(1)
    assert await author_cache.get_many([1, 2]) == {2: b"bob"}
    await author_cache.fill({1: b"old", 3: b"cy"})  # a read from before the change
    assert await author_cache.get_many([1, 3]) == {3: b"cy"}

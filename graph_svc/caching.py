"""Who a user follows, answered from the following cache in front of the graph store.

The feed asks FilterFollowed on every page and the celebrities among a reader's followees on
every read; both are cached. A follow or an unfollow invalidates the follower's entries
before it answers (leaving a short dirty mark, so a reload that read the store before the
change cannot put the old set back): an unfollow hides the followee's posts at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph_svc.storage.base import FollowingCache, GraphStore

_SCAN_CHUNK = 5000


class CachedFollowing:
    """Example:
    following = CachedFollowing(store, make_following_cache(settings))
    followed = await following.filter_followed(reader_id, author_ids)
    await following.changed(follower_id)  # after every follow or unfollow
    """

    def __init__(self, store: GraphStore, cache: FollowingCache) -> None:
        self._store = store
        self._cache = cache

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> set[int]:
        cached = await self._cache.followed_among(user_id, candidate_ids)
        if cached is not None:
            return cached
        followed: list[int] = []
        while chunk := await self._store.followed_ids(
            user_id, followed[-1] if followed else 0, _SCAN_CHUNK
        ):
            followed += chunk
        await self._cache.fill(user_id, followed)
        return set(candidate_ids) & set(followed)

    async def celebrities(self, user_id: int, min_follower_count: int) -> list[int]:
        cached = await self._cache.celebrities(user_id, min_follower_count)
        if cached is not None:
            return cached
        found = await self._store.followed_with_min_followers(user_id, min_follower_count)
        await self._cache.put_celebrities(user_id, min_follower_count, found)
        return found

    async def changed(self, follower_id: int) -> None:
        await self._cache.invalidate(follower_id)

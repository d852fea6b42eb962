"""Who a user follows, answered from the following cache in front of the graph store.

The feed asks FilterFollowed on every page and the celebrities among a reader's followees on
every read; both are cached. A follow or an unfollow invalidates the follower's entries
before it answers (leaving a short dirty mark, so a reload that read the store before the
change cannot put the old set back): an unfollow hides the followee's posts at once. Its
event invalidates them again, which is what counts when the cache was down at the time.
While the cache is down, reads go to the store.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from common.counting import NOT_COUNTED, CacheCounter
from common.errors import Unavailable
from graph_svc.storage.base import FollowingCache, GraphStore

_SCAN_CHUNK = 5000
log = logging.getLogger(__name__)


class CachedFollowing:
    """Example:
    following = CachedFollowing(store, make_following_cache(settings))
    followed = await following.filter_followed(reader_id, author_ids)
    await following.changed(follower_id)  # after every follow or unfollow
    """

    def __init__(
        self, store: GraphStore, cache: FollowingCache, counted: CacheCounter = NOT_COUNTED
    ) -> None:
        self._store = store
        self._cache = cache
        self._counted = counted

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> set[int]:
        try:
            cached = await self._cache.followed_among(user_id, candidate_ids)
        except Unavailable:
            cached = None  # the cache is down: the store answers
        self._counted.count(int(cached is not None), int(cached is None))
        if cached is not None:
            return cached
        followed: list[int] = []
        while chunk := await self._store.followed_ids(
            user_id, followed[-1] if followed else 0, _SCAN_CHUNK
        ):
            followed += chunk
        with contextlib.suppress(Unavailable):
            await self._cache.fill(user_id, followed)
        return set(candidate_ids) & set(followed)

    async def celebrities(self, user_id: int, min_follower_count: int) -> list[int]:
        try:
            cached = await self._cache.celebrities(user_id, min_follower_count)
        except Unavailable:
            cached = None
        self._counted.count(int(cached is not None), int(cached is None))
        if cached is not None:
            return cached
        found = await self._store.followed_with_min_followers(user_id, min_follower_count)
        with contextlib.suppress(Unavailable):
            await self._cache.put_celebrities(user_id, min_follower_count, found)
        return found

    async def changed(self, follower_id: int) -> None:
        """Drops the follower's cached sets. While the cache is down the change is not lost:
        the graph's own consumer of FollowChanged calls `changed_again` once it is back."""
        try:
            await self._cache.invalidate(follower_id)
        except Unavailable:
            log.warning("following cache down: user %d is invalidated by the event", follower_id)

    async def changed_again(self, follower_id: int) -> None:
        """The FollowChanged event's invalidation: raises `Unavailable` while the cache is
        down, so the event waits for it instead of leaving a stale set behind."""
        await self._cache.invalidate(follower_id)

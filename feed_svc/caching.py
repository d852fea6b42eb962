"""The post source with the hydration cache in front of it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Sequence

from photoshare.post.v1.post_service_pb2 import Post

from common.counting import NOT_COUNTED, CacheCounter
from common.errors import Unavailable
from feed_svc.models import Candidate, FeedKey, Hydration, PostSource
from feed_svc.storage.base import PostCache


class CachedPosts:
    """Hydration reads published posts from the cache first; a post that changed after it was
    published (AVIF renditions added) is refreshed by `refresh`. While the cache is down,
    reads go to post_svc; a refresh fails (its event waits for the cache to come back)."""

    def __init__(
        self, posts: PostSource, cache: PostCache, counted: CacheCounter = NOT_COUNTED
    ) -> None:
        self._posts = posts
        self._cache = cache
        self._counted = counted

    async def get_many(self, post_ids: Sequence[int]) -> dict[int, Post]:
        try:
            cached = await self._cache.get_posts(post_ids)
        except Unavailable:
            cached = {}  # the cache is down: every post is read from post_svc
        found = {i: Post.FromString(data) for i, data in cached.items()}
        missing = [i for i in post_ids if i not in found]
        self._counted.count(len(found), len(missing))
        if missing:
            fetched = await self._posts.get_many(missing)
            with contextlib.suppress(Unavailable):  # a fill only saves the next read work
                await self._cache.put_posts({i: p.SerializeToString() for i, p in fetched.items()})
            found.update(fetched)
        return found

    async def forget(self, post_ids: Sequence[int]) -> None:
        """Deleted posts leave the cache (reads already leave them out)."""
        await self._cache.drop_posts(post_ids)

    async def refresh(self, post_ids: Sequence[int]) -> None:
        fetched = await self._posts.get_many(post_ids)
        await self._cache.refresh_posts({i: p.SerializeToString() for i, p in fetched.items()})

    async def hydrate(
        self, post_ids: Sequence[int], author_ids: Sequence[int], reader_id: int
    ) -> Hydration:
        # Counts and profiles change after publishing and likes are per reader: never from
        # this cache (post_svc keeps the authors' summaries in its own).
        return await self._posts.hydrate(post_ids, author_ids, reader_id)

    def recent(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> AsyncGenerator[list[Candidate], None]:
        return self._posts.recent(author_ids, before, limit)

"""Hydrated posts cached in Redis, shared by every feed_svc process."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

POST_TTL_S = 86_400


class RedisPostCache:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "ps:") -> None:
        self._redis = client
        self._prefix = prefix

    async def open(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

    async def get_posts(self, post_ids: Sequence[int]) -> dict[int, bytes]:
        if not post_ids:
            return {}
        values = await self._redis.mget([f"{self._prefix}post:{i}" for i in post_ids])
        return {i: v for i, v in zip(post_ids, values, strict=True) if isinstance(v, bytes)}

    async def drop_posts(self, post_ids: Sequence[int]) -> None:
        if post_ids:
            await self._redis.delete(*(f"{self._prefix}post:{post_id}" for post_id in post_ids))

    async def put_posts(self, posts: dict[int, bytes]) -> None:
        await self._set(posts, only_new=True)

    async def refresh_posts(self, posts: dict[int, bytes]) -> None:
        await self._set(posts, only_new=False)

    async def _set(self, posts: dict[int, bytes], *, only_new: bool) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for post_id, data in posts.items():
                pipe.set(f"{self._prefix}post:{post_id}", data, ex=POST_TTL_S, nx=only_new)
            await pipe.execute()

"""post_svc's author cache in Redis (production): one string per user with a TTL, and a
short-lived dirty mark beside it that refuses fills. Keys of one user share a hash slot;
a page's users are read and filled in one pipelined round trip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis

from post_svc.storage.base import AUTHOR_DIRTY_S, AUTHOR_TTL_S

_FILL = """
-- KEYS: summary, dirty mark; ARGV: ttl_s, summary
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
return 1
"""


class RedisAuthorCache:
    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "ps:", ttl_s: int = AUTHOR_TTL_S
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._fill = client.register_script(_FILL)

    def _keys(self, user_id: int) -> list[str]:
        key = f"{self._prefix}author:{{{user_id}}}"
        return [key, f"{key}:dirty"]

    async def get_many(self, user_ids: Sequence[int]) -> dict[int, bytes]:
        if not user_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.get(self._keys(user_id)[0])
            values = await pipe.execute()
        return {u: v for u, v in zip(user_ids, values, strict=True) if v is not None}

    async def fill(self, summaries: Mapping[int, bytes]) -> None:
        if not summaries:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, summary in summaries.items():
                await self._fill(keys=self._keys(user_id), args=[self._ttl_s, summary], client=pipe)
            await pipe.execute()

    async def invalidate(self, user_id: int) -> None:
        key, dirty = self._keys(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(dirty, 1, px=int(AUTHOR_DIRTY_S * 1000))
            pipe.delete(key)
            await pipe.execute()

    async def open(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

"""graph_svc's following cache in Redis (production): a set per user for FilterFollowed,
a hash of celebrity lists per user, and a short-lived dirty mark that refuses fills."""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis.asyncio as aioredis

from graph_svc.storage.base import CELEBRITIES_TTL_S, DIRTY_S, FOLLOWING_TTL_S

_FILL = """
-- KEYS: set, dirty mark; ARGV: ttl_s, ids... ('-' keeps an empty set distinguishable)
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], '-', unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


class RedisFollowingCache:
    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "ps:", ttl_s: int = FOLLOWING_TTL_S
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._fill = client.register_script(_FILL)

    async def celebrities(self, user_id: int, min_follower_count: int) -> list[int] | None:
        raw = await self._redis.hget(self._celebrities_key(user_id), str(min_follower_count))
        return [int(i) for i in json.loads(raw)] if raw is not None else None

    async def put_celebrities(
        self, user_id: int, min_follower_count: int, celebrity_ids: Sequence[int]
    ) -> None:
        key = self._celebrities_key(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, str(min_follower_count), json.dumps(list(celebrity_ids)))
            pipe.expire(key, CELEBRITIES_TTL_S)
            await pipe.execute()

    def _celebrities_key(self, user_id: int) -> str:
        return f"{self._prefix}celebrities:{{{user_id}}}"

    def _keys(self, user_id: int) -> list[str]:
        return [
            f"{self._prefix}following:{{{user_id}}}",
            f"{self._prefix}following:{{{user_id}}}:dirty",
        ]

    async def followed_among(self, user_id: int, candidate_ids: Sequence[int]) -> set[int] | None:
        """The followed ones among the candidates, or None when the set is not cached."""
        key = self._keys(user_id)[0]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(key)
            pipe.smismember(key, [str(c) for c in candidate_ids] or ["-"])
            exists, flags = await pipe.execute()
        if not exists:
            return None
        return {c for c, flag in zip(candidate_ids, flags, strict=False) if flag}

    async def fill(self, user_id: int, followed_ids: Sequence[int]) -> None:
        await self._fill(
            keys=self._keys(user_id), args=[self._ttl_s, *(str(i) for i in followed_ids)]
        )

    async def invalidate(self, user_id: int) -> None:
        key, dirty = self._keys(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(dirty, 1, px=int(DIRTY_S * 1000))
            pipe.delete(key, self._celebrities_key(user_id))
            await pipe.execute()

    async def open(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

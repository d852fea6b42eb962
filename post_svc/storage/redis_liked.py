"""post_svc's cache of who likes what in Redis (production): a hash per user, post id ->
"1" or "0", with a TTL, and a short-lived dirty mark beside it that refuses fills. Both keys
of a user share a hash slot; a page is read in one HMGET and filled in one script call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis

from post_svc.storage.base import LIKED_DIRTY_S, LIKED_TTL_S

_FILL = """
-- KEYS: answers, dirty mark; ARGV: ttl_ms, then post id / answer pairs
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 2, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


class RedisLikedCache:
    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "ps:", ttl_s: int = LIKED_TTL_S
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_ms = ttl_s * 1000
        self._fill = client.register_script(_FILL)

    def _keys(self, user_id: int) -> list[str]:
        key = f"{self._prefix}liked:{{{user_id}}}"
        return [key, f"{key}:dirty"]

    async def get(self, user_id: int, post_ids: Sequence[int]) -> dict[int, bool]:
        if not post_ids:
            return {}
        values = await self._redis.hmget(self._keys(user_id)[0], [str(p) for p in post_ids])
        return {p: v in (b"1", "1") for p, v in zip(post_ids, values, strict=True) if v is not None}

    async def fill(self, user_id: int, answers: Mapping[int, bool]) -> None:
        if not answers:
            return
        pairs: list[str | int] = [self._ttl_ms]
        for post_id, liked in answers.items():
            pairs += [str(post_id), "1" if liked else "0"]
        await self._fill(keys=self._keys(user_id), args=pairs)

    async def changed(self, user_id: int, post_id: int) -> None:
        key, dirty = self._keys(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(dirty, 1, px=int(LIKED_DIRTY_S * 1000))
            pipe.hdel(key, str(post_id))
            await pipe.execute()

    async def forget(self, user_id: int) -> None:
        await self._redis.delete(*self._keys(user_id))

    async def open(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

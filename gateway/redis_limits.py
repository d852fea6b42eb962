"""Token buckets in Redis (production): every gateway process draws from the same bucket. One
Lua script refills, takes and reports in one round trip, on Redis's clock. While Redis is
down each process limits on its own (in-process buckets): looser across processes, but
never off and never a failed request."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from common.errors import Unavailable
from gateway.limits import Decision, InMemoryBuckets, Policy

_TAKE = """
-- KEYS: bucket; ARGV: rate per ms, capacity. Returns allowed, remaining, retry ms, reset ms.
local rate, cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = math.min(cap, (tonumber(b[1]) or cap) + (now - (tonumber(b[2]) or now)) * rate)
local ok, retry = 0, 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 else retry = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate) + 1000)
return {ok, math.floor(tokens), retry, math.ceil((cap - tokens) / rate)}
"""


class RedisBuckets:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "ps:") -> None:
        self._redis = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._while_down = InMemoryBuckets()

    async def take(self, key: str, policy: Policy) -> Decision:
        rate_per_ms = policy.per_minute / 60_000
        try:
            allowed, remaining, retry_ms, reset_ms = await self._take(
                keys=[self._key(key)], args=[rate_per_ms, policy.burst]
            )
        except Unavailable:
            return await self._while_down.take(key, policy)
        return Decision(bool(allowed), int(remaining), retry_ms / 1000, reset_ms / 1000)

    async def forget(self, keys: Sequence[str]) -> None:
        await self._while_down.forget(keys)
        await self._redis.delete(*(self._key(key) for key in keys))

    def _key(self, key: str) -> str:
        return f"{self._prefix}rl:{{{key}}}"

    async def close(self) -> None:
        await self._redis.aclose()

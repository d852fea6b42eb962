"""The pulled authors in Redis, beside the timelines: one hash, author id -> state, with no
expiry (a timeline built while an author was pulled lacks their posts).

A value is `pulled:<since ms>:<since post id>` or `leaving:...`. The hash is read once per
feed read that follows any author big enough to be pulled (HMGET of those authors)."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from feed_svc.models import PulledAuthor


class RedisPulledAuthors:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "ps:") -> None:
        self._redis = client
        self._key = f"{prefix}pulled"

    async def open(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

    async def get(self, author_ids: Sequence[int]) -> dict[int, PulledAuthor]:
        if not author_ids:
            return {}
        values = await self._redis.hmget(self._key, [str(a) for a in author_ids])
        return {a: _parse(v) for a, v in zip(author_ids, values, strict=True) if v is not None}

    async def put(self, author_id: int, pulled: PulledAuthor) -> None:
        state = "leaving" if pulled.leaving else "pulled"
        since_ms, since_post = pulled.since
        await self._redis.hset(self._key, str(author_id), f"{state}:{since_ms}:{since_post}")

    async def remove(self, author_id: int) -> None:
        await self._redis.hdel(self._key, str(author_id))


def _parse(value: bytes | str) -> PulledAuthor:
    text = value.decode() if isinstance(value, bytes) else value
    state, since_ms, since_post = text.split(":")
    return PulledAuthor((int(since_ms), int(since_post)), leaving=state == "leaving")

"""Like and comment counts in Redis, persisted in Cassandra (production).

Redis answers a page's counts in one round trip. Each event is applied once: one Lua script
sets a marker for its id (kept 7 days) and, only if the marker is new, moves the counts and a
per-post version. The absolute counts are then written to Cassandra's `post_stats` with the
version as the write timestamp, so writes that arrive out of order keep the newest, and a
Redis that lost a post reloads it from there. No Cassandra counters: they cannot be applied
exactly once (a retried increment counts twice).

While Redis is down, counts are read from Cassandra and applying an event raises
`Unavailable` (the request answers with the stored counts; the event's consumer applies it
once Redis is back).

What this cannot promise: if Redis loses a post's markers, an event delivered again before
it ages out is counted again, and a crash between the script and the Cassandra write is only
persisted by the post's next event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import redis.asyncio as aioredis

from common.cassandra import CassandraConfig, CassandraStore
from common.errors import Unavailable
from post_svc.models import Applied, PostStats

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.post_stats (
        post_id bigint PRIMARY KEY, likes bigint, comments bigint, version bigint)""",
    "ALTER TABLE {ks}.post_stats ADD deleted boolean",
)
STATEMENTS = {
    "stats": "SELECT likes, comments, version, deleted FROM {ks}.post_stats WHERE post_id = ?",
    "mark_deleted": "UPDATE {ks}.post_stats SET deleted = true WHERE post_id = ?",
    "persist": "UPDATE {ks}.post_stats USING TIMESTAMP ? SET likes = ?, comments = ?, "
    "version = ? WHERE post_id = ?",
}

_APPLY = """
-- KEYS: counts hash, event marker; ARGV: d_likes, d_comments, marker_ttl_s, keep_s
-- [, likes, comments, version, deleted]: the base from Cassandra when the hash is absent
if redis.call('EXISTS', KEYS[1]) == 0 then
  if #ARGV < 8 then return false end
  redis.call('HSET', KEYS[1], 'likes', ARGV[5], 'comments', ARGV[6], 'version', ARGV[7],
             'deleted', ARGV[8])
end
local first = 0
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[3]) then
  redis.call('HINCRBY', KEYS[1], 'likes', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'comments', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  first = 1
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
local counts = redis.call('HMGET', KEYS[1], 'likes', 'comments', 'version', 'deleted')
counts[4] = counts[4] or 0
counts[5] = first
return counts
"""
_FILL = """
-- KEYS: counts hash; ARGV: likes, comments, version, keep_s, deleted. Never overwrites.
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'likes', ARGV[1], 'comments', ARGV[2], 'version', ARGV[3],
             'deleted', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return 1
"""
_MARK_DELETED = """
-- KEYS: counts hash. An absent hash is loaded from Cassandra, which already says so.
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'deleted', 1) end
return 1
"""
MARKER_TTL_S = 7 * 86_400  # far longer than any redelivery takes
KEEP_S = 7 * 86_400  # counts of posts nobody reads or engages with leave Redis


class RedisStatsStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    def __init__(
        self, config: CassandraConfig, client: aioredis.Redis, *, prefix: str = "ps:"
    ) -> None:
        super().__init__(config)
        self._redis = client
        self._prefix = prefix
        self._apply = client.register_script(_APPLY)
        self._fill = client.register_script(_FILL)
        self._mark_deleted = client.register_script(_MARK_DELETED)

    async def open(self) -> None:
        await super().open()
        await self._redis.ping()

    async def close(self) -> None:
        await super().close()
        await self._redis.aclose()

    async def apply(
        self, post_id: int, event_id: str, *, likes: int = 0, comments: int = 0
    ) -> Applied:
        keys = [self._key(post_id), f"{self._prefix}applied:{{{post_id}}}:{event_id}"]
        args = [likes, comments, MARKER_TTL_S, KEEP_S]
        counts = await self._apply(keys=keys, args=args)
        if counts is None:  # not in Redis: start from what Cassandra kept
            kept_likes, kept_comments, kept_version, kept_deleted = await self._persisted(post_id)
            base = [kept_likes, kept_comments, kept_version, int(kept_deleted)]
            counts = await self._apply(keys=keys, args=[*args, *base])
        now_likes, now_comments, version, deleted, first_time = (int(c) for c in counts)
        await self.run("persist", (version, now_likes, now_comments, version, post_id))
        return Applied(PostStats(now_likes, now_comments, bool(deleted)), bool(first_time))

    async def mark_deleted(self, post_id: int) -> None:
        """Cassandra first (what a Redis miss or outage reads), then the cached hash; raises
        `Unavailable` while Redis is down (the deletion's event does it again)."""
        await self.run("mark_deleted", (post_id,))
        await self._mark_deleted(keys=[self._key(post_id)])

    async def get_many(self, post_ids: Sequence[int]) -> dict[int, PostStats]:
        unique = list(dict.fromkeys(post_ids))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for post_id in unique:
                    pipe.hmget(self._key(post_id), "likes", "comments", "deleted")
                cached = await pipe.execute()
        except Unavailable:
            # Redis is down: Cassandra's copy, without what is still waiting to be applied.
            persisted = await asyncio.gather(*(self._persisted(p) for p in unique))
            return {p: PostStats(c[0], c[1], c[3]) for p, c in zip(unique, persisted, strict=True)}
        found: dict[int, PostStats] = {}
        missing = []
        for post_id, (likes, comments, deleted) in zip(unique, cached, strict=True):
            if likes is None:
                missing.append(post_id)
            else:
                found[post_id] = PostStats(int(likes), int(comments), deleted == b"1")
        if not missing:
            return found
        persisted = await asyncio.gather(*(self._persisted(p) for p in missing))
        # Put back in one round trip, as the page was read.
        for post_id, (likes, comments, _, deleted) in zip(missing, persisted, strict=True):
            found[post_id] = PostStats(likes, comments, deleted)
        with contextlib.suppress(Unavailable):  # a fill only saves the next read work
            async with self._redis.pipeline(transaction=False) as pipe:
                for post_id, (likes, comments, version, deleted) in zip(
                    missing, persisted, strict=True
                ):
                    args = [likes, comments, version, KEEP_S, int(deleted)]
                    await self._fill(keys=[self._key(post_id)], args=args, client=pipe)
                await pipe.execute()
        return found

    async def _persisted(self, post_id: int) -> tuple[int, int, int, bool]:
        rows = await self.run("stats", (post_id,))
        if not rows:
            return (0, 0, 0, False)
        row = rows[0]
        return (row["likes"] or 0, row["comments"] or 0, row["version"] or 0, bool(row["deleted"]))

    def _key(self, post_id: int) -> str:
        return f"{self._prefix}stats:{{{post_id}}}"

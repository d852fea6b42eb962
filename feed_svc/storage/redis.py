"""Timelines in Redis: a sorted set per reader plus a small hash of its state.

Score = publish time in ms (exact in a double up to 2^53); member = zero-padded post id and
author, so equal scores order by post id and a 64-bit id never passes through a double.
Keys of one reader share a hash tag, so every script but fan-out's (one call per chunk of
followers) also runs on Redis Cluster as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from feed_svc.models import FeedEntry, FeedKey, TimelinePage

# What the scripts that add entries (_ADD, _PUSH) begin with: the floor rule and the trim
# that moves the floor.
_SHARED = """
local function above_floor(score, member, floor_score, floor_member)
  return floor_score < 0 or score > floor_score or (score == floor_score and member >= floor_member)
end
local function trim(timeline, meta, n, max_len)
  if n > max_len then
    redis.call('ZREMRANGEBYRANK', timeline, 0, n - max_len - 1)
    local oldest = redis.call('ZRANGE', timeline, 0, 0, 'WITHSCORES')
    redis.call('HSET', meta, 'floor_member', oldest[1], 'floor_score', oldest[2])
  end
end
"""

_ADD = """
-- KEYS: timeline, meta; ARGV: max_len, ttl_ms, ready(0/1), floor_score, floor_member, then
-- score/member pairs. Adds to a timeline that exists (building or ready), never below its floor.
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if ARGV[4] ~= '' then
  local old = redis.call('HGET', KEYS[2], 'floor_score')
  local old_member = redis.call('HGET', KEYS[2], 'floor_member')
  local new = tonumber(ARGV[4])
  if not old or new > tonumber(old) or (new == tonumber(old) and ARGV[5] > old_member) then
    redis.call('HSET', KEYS[2], 'floor_score', ARGV[4], 'floor_member', ARGV[5])
  end
end
local floor_score = tonumber(redis.call('HGET', KEYS[2], 'floor_score') or '-1')
local floor_member = redis.call('HGET', KEYS[2], 'floor_member') or ''
for i = 6, #ARGV, 2 do
  local score = tonumber(ARGV[i])
  if above_floor(score, ARGV[i + 1], floor_score, floor_member) then
    redis.call('ZADD', KEYS[1], score, ARGV[i + 1])
  end
end
trim(KEYS[1], KEYS[2], redis.call('ZCARD', KEYS[1]), tonumber(ARGV[1]))
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[2], 'state', 'ready')
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""

_PUSH = """
-- KEYS: timeline and meta of each owner, in pairs; ARGV: max_len, score, member.
-- Fan-out: one entry into every owner's timeline that exists (building or ready), never below
-- its floor, each trimmed to max_len. One call for a whole chunk of followers, and three
-- commands for most of them (Redis's time is fan-out's limit).
local max_len = tonumber(ARGV[1])
local score = tonumber(ARGV[2])
local member = ARGV[3]
local added = 0
for i = 1, #KEYS, 2 do
  local timeline, meta = KEYS[i], KEYS[i + 1]
  local state = redis.call('HMGET', meta, 'state', 'floor_score', 'floor_member')
  if state[1] then
    if above_floor(score, member, tonumber(state[2] or '-1'), state[3] or '') then
      redis.call('ZADD', timeline, score, member)
      local n = redis.call('ZCARD', timeline)
      if n == 1 then  -- this push made the set: it expires with its meta
        local ttl = redis.call('PTTL', meta)
        if ttl > 0 then redis.call('PEXPIRE', timeline, ttl) end
      else
        trim(timeline, meta, n, max_len)
      end
      added = added + 1
    end
  end
end
return added
"""

_BEGIN = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[2], 'state', 'building')
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return 1
"""

_PAGE_OVERFETCH = 16  # entries at the cursor's own millisecond that the bound must skip


class RedisTimelineStore:
    """TimelineStore on Redis. Timelines of readers who stop reading expire after `ttl_s`
    and are rebuilt from the stores on their next read.

    Example:
        store = RedisTimelineStore(redis.asyncio.Redis.from_url(url), max_len=800)
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        max_len: int,
        ttl_s: int = 7 * 86_400,
        prefix: str = "ps:",
        kind: str = "tl",
    ) -> None:
        self._redis = client
        self._max_len = max_len
        self._ttl_ms = ttl_s * 1000
        self._prefix = prefix
        self._kind = kind  # "tl" for home timelines, "atl" for author timelines
        self._add = client.register_script(_SHARED + _ADD)
        self._begin = client.register_script(_BEGIN)
        self._push = client.register_script(_SHARED + _PUSH)

    def _keys(self, owner_id: int) -> list[str]:
        timeline, meta = f"{self._prefix}{self._kind}", f"{self._prefix}{self._kind}m"
        return [f"{timeline}:{{{owner_id}}}", f"{meta}:{{{owner_id}}}"]

    async def open(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

    async def is_ready(self, owner_id: int) -> bool:
        state = await self._redis.hget(self._keys(owner_id)[1], "state")
        return state in (b"ready", "ready")

    async def begin(self, owner_id: int) -> None:
        await self._begin(keys=self._keys(owner_id), args=[self._ttl_ms])

    async def complete(
        self, owner_id: int, entries: Sequence[FeedEntry], floor: FeedKey | None
    ) -> None:
        floor_args = [floor[0], _member_key(floor[1])] if floor else ["", ""]
        await self._add(
            keys=self._keys(owner_id),
            args=[self._max_len, self._ttl_ms, 1, *floor_args, *_pairs(entries)],
        )

    async def page(self, owner_id: int, before: FeedKey | None, limit: int) -> TimelinePage | None:
        timeline, meta = self._keys(owner_id)
        top = "+inf" if before is None else before[0]
        found: list[FeedEntry] = []
        offset = 0
        while True:
            want = limit - len(found) + (0 if before is None else _PAGE_OVERFETCH)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(meta)
                pipe.zrevrangebyscore(
                    timeline, top, "-inf", start=offset, num=want, withscores=True
                )
                pipe.pexpire(meta, self._ttl_ms)  # an active reader keeps their timeline
                pipe.pexpire(timeline, self._ttl_ms)
                state, rows, *_ = await pipe.execute()
            state = {_text(k): _text(v) for k, v in state.items()}
            if state.get("state") != "ready":
                return None
            batch = [_entry(member, score) for member, score in rows]
            found += [e for e in batch if before is None or e.key < before]
            offset += len(rows)
            if len(found) >= limit or len(rows) < want:
                break
        floor = None
        if "floor_score" in state:
            floor = (int(float(state["floor_score"])), int(state["floor_member"].split(":")[0]))
        return TimelinePage(found[:limit], floor)

    async def push(self, owner_ids: Sequence[int], entry: FeedEntry) -> None:
        # One script call for the whole chunk (a call per follower cost more in Python than
        # in Redis). It names every follower's keys, so on a Redis Cluster a chunk would have
        # to be split by hash slot first.
        if not owner_ids:
            return
        keys = [key for owner_id in owner_ids for key in self._keys(owner_id)]
        await self._push(keys=keys, args=[self._max_len, entry.published_at_ms, _member(entry)])

    async def holding(self, owner_ids: Sequence[int], entry: FeedEntry) -> list[bool]:
        # One pipeline of ZSCORE: ten thousand timelines in a few milliseconds.
        member = _member(entry)
        async with self._redis.pipeline(transaction=False) as pipe:
            for owner_id in owner_ids:
                pipe.zscore(self._keys(owner_id)[0], member)
            scores = await pipe.execute()
        return [score is not None for score in scores]

    async def add(self, owner_id: int, entries: Sequence[FeedEntry]) -> None:
        if entries:
            await self._add(
                keys=self._keys(owner_id),
                args=[self._max_len, self._ttl_ms, 0, "", "", *_pairs(entries)],
            )

    async def remove(self, owner_ids: Sequence[int], entry: FeedEntry) -> None:
        member = _member(entry)
        async with self._redis.pipeline(transaction=False) as pipe:
            for owner_id in owner_ids:
                pipe.zrem(self._keys(owner_id)[0], member)
            await pipe.execute()

    async def drop(self, owner_id: int) -> None:
        await self._redis.delete(*self._keys(owner_id))

    async def remove_author(self, owner_id: int, author_id: int) -> None:
        timeline = self._keys(owner_id)[0]
        suffix = f":{author_id}"
        members = [
            _text(m)
            for m in await self._redis.zrange(timeline, 0, -1)
            if isinstance(m, bytes | str) and _text(m).endswith(suffix)
        ]
        if members:
            await self._redis.zrem(timeline, *members)


def _member(entry: FeedEntry) -> str:
    return f"{_member_key(entry.post_id)}:{entry.author_id}"


def _member_key(post_id: int) -> str:
    return f"{post_id:020d}"


def _pairs(entries: Sequence[FeedEntry]) -> list[str | int]:
    pairs: list[str | int] = []
    for entry in entries:
        pairs += [entry.published_at_ms, _member(entry)]
    return pairs


def _entry(member: bytes | str, score: float) -> FeedEntry:
    post_id, author_id = _text(member).split(":")
    return FeedEntry(int(score), int(post_id), int(author_id))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

"""graph_svc's following cache in process memory (embedded default).

The same rules as the Redis one: a filled set lives `ttl_s` (FOLLOWING_TTL_S), an
invalidation leaves a dirty mark for DIRTY_S during which fills are refused, and the
celebrities among a user's followees live CELEBRITIES_TTL_S. At most `max_users` users are
kept, least recently used evicted.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from graph_svc.storage.base import CELEBRITIES_TTL_S, DIRTY_S, FOLLOWING_TTL_S


@dataclass
class _Entry:
    followed: set[int] | None = None
    followed_until: float = 0.0
    dirty_until: float = 0.0
    # min_follower_count -> (celebrity ids, valid until)
    celebrities: dict[int, tuple[list[int], float]] = field(default_factory=dict)


class InMemoryFollowingCache:
    def __init__(
        self,
        *,
        max_users: int = 100_000,
        ttl_s: float = FOLLOWING_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._max_users = max_users
        self._ttl_s = ttl_s
        self._clock = clock

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()

    async def followed_among(self, user_id: int, candidate_ids: Sequence[int]) -> set[int] | None:
        entry = self._entries.get(user_id)
        if entry is None or entry.followed is None or entry.followed_until <= self._clock():
            return None
        self._entries.move_to_end(user_id)
        return {c for c in candidate_ids if c in entry.followed}

    async def fill(self, user_id: int, followed_ids: Sequence[int]) -> None:
        entry = self._entry(user_id)
        now = self._clock()
        if entry.dirty_until > now:
            return  # read before a follow or unfollow that has just happened: too old to keep
        entry.followed = set(followed_ids)
        entry.followed_until = now + self._ttl_s

    async def celebrities(self, user_id: int, min_follower_count: int) -> list[int] | None:
        entry = self._entries.get(user_id)
        cached = entry.celebrities.get(min_follower_count) if entry else None
        if cached is None or cached[1] <= self._clock():
            return None
        return list(cached[0])

    async def put_celebrities(
        self, user_id: int, min_follower_count: int, celebrity_ids: Sequence[int]
    ) -> None:
        expires = self._clock() + CELEBRITIES_TTL_S
        self._entry(user_id).celebrities[min_follower_count] = (list(celebrity_ids), expires)

    async def invalidate(self, user_id: int) -> None:
        entry = self._entry(user_id)
        entry.followed = None
        entry.celebrities.clear()
        entry.dirty_until = self._clock() + DIRTY_S

    def _entry(self, user_id: int) -> _Entry:
        entry = self._entries.get(user_id)
        if entry is None:
            entry = self._entries[user_id] = _Entry()
            if len(self._entries) > self._max_users:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(user_id)
        return entry

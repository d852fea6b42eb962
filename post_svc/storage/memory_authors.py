"""post_svc's author cache in process memory (embedded default): the Redis one's rules,
at most `max_users` entries, least recently used evicted."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from post_svc.storage.base import AUTHOR_DIRTY_S, AUTHOR_TTL_S
from post_svc.storage.dirty_marks import DirtyMarks


class InMemoryAuthorCache:
    def __init__(
        self,
        *,
        max_users: int = 100_000,
        ttl_s: float = AUTHOR_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._summaries: OrderedDict[int, tuple[bytes, float]] = OrderedDict()
        self._dirty = DirtyMarks(AUTHOR_DIRTY_S, clock)
        self._max_users = max_users
        self._ttl_s = ttl_s
        self._clock = clock

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._summaries.clear()

    async def get_many(self, user_ids: Sequence[int]) -> dict[int, bytes]:
        now = self._clock()
        found = {}
        for user_id in user_ids:
            entry = self._summaries.get(user_id)
            if entry is not None and entry[1] > now:
                self._summaries.move_to_end(user_id)
                found[user_id] = entry[0]
        return found

    async def fill(self, summaries: Mapping[int, bytes]) -> None:
        now = self._clock()
        for user_id, summary in summaries.items():
            if self._dirty.marked(user_id):
                continue  # read before a profile change that has just happened
            self._summaries[user_id] = (summary, now + self._ttl_s)
            self._summaries.move_to_end(user_id)
        while len(self._summaries) > self._max_users:
            self._summaries.popitem(last=False)

    async def invalidate(self, user_id: int) -> None:
        self._summaries.pop(user_id, None)
        self._dirty.mark(user_id)

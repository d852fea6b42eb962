"""post_svc's cache of who likes what in process memory (embedded default): the Redis one's
rules, at most `max_users` users, least recently used evicted."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from post_svc.storage.base import LIKED_DIRTY_S, LIKED_TTL_S


class InMemoryLikedCache:
    def __init__(
        self,
        *,
        max_users: int = 100_000,
        ttl_s: float = LIKED_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # user -> (post -> liked, valid until)
        self._users: OrderedDict[int, tuple[dict[int, bool], float]] = OrderedDict()
        self._dirty_until: dict[int, float] = {}
        self._max_users = max_users
        self._ttl_s = ttl_s
        self._clock = clock

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._users.clear()

    async def get(self, user_id: int, post_ids: Sequence[int]) -> dict[int, bool]:
        entry = self._users.get(user_id)
        if entry is None or entry[1] <= self._clock():
            return {}
        self._users.move_to_end(user_id)
        answers = entry[0]
        return {p: answers[p] for p in post_ids if p in answers}

    async def fill(self, user_id: int, answers: Mapping[int, bool]) -> None:
        now = self._clock()
        if self._dirty_until.get(user_id, 0.0) > now:
            return  # read before a like or unlike that has just happened
        self._dirty_until.pop(user_id, None)
        entry = self._users.get(user_id)
        if entry is None or entry[1] <= now:
            entry = ({}, now + self._ttl_s)
        for post_id, liked in answers.items():
            entry[0].setdefault(post_id, liked)  # never over an answer already there
        self._users[user_id] = (entry[0], now + self._ttl_s)
        self._users.move_to_end(user_id)
        while len(self._users) > self._max_users:
            self._users.popitem(last=False)

    async def forget(self, user_id: int) -> None:
        self._users.pop(user_id, None)
        self._dirty_until.pop(user_id, None)

    async def changed(self, user_id: int, post_id: int) -> None:
        entry = self._users.get(user_id)
        if entry is not None:
            entry[0].pop(post_id, None)
        now = self._clock()
        self._dirty_until = {u: t for u, t in self._dirty_until.items() if t > now}
        self._dirty_until[user_id] = now + LIKED_DIRTY_S

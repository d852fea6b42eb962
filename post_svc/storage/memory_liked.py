"""post_svc's cache of who likes what in process memory (embedded default): the Redis one's
rules, at most `max_users` users, least recently used evicted."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from post_svc.storage.base import LIKED_DIRTY_S, LIKED_TTL_S
from post_svc.storage.dirty_marks import DirtyMarks


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
        self._dirty = DirtyMarks(LIKED_DIRTY_S, clock)
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
        if self._dirty.marked(user_id):
            return  # read before a like or unlike that has just happened
        now = self._clock()
        entry = self._users.get(user_id)
        known = entry[0] if entry is not None and entry[1] > now else {}
        for post_id, liked in answers.items():
            known.setdefault(post_id, liked)  # never over an answer already there
        self._users[user_id] = (known, now + self._ttl_s)
        self._users.move_to_end(user_id)
        while len(self._users) > self._max_users:
            self._users.popitem(last=False)

    async def forget(self, user_id: int) -> None:
        self._users.pop(user_id, None)
        self._dirty.forget(user_id)

    async def changed(self, user_id: int, post_id: int) -> None:
        entry = self._users.get(user_id)
        if entry is not None:
            entry[0].pop(post_id, None)
        self._dirty.mark(user_id)

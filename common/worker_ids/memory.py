"""Leases in memory, on an injectable clock: the unit tests' store for LeasedWorkerId."""

from __future__ import annotations

import time
from collections.abc import Callable


class InMemoryLeaseStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._leases: dict[int, tuple[str, float]] = {}  # worker id -> (owner, expires at)
        self.down = False  # a test's outage: every call raises

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def _live(self) -> dict[int, tuple[str, float]]:
        if self.down:
            raise ConnectionError("the lease store is down")
        now = self._clock()
        self._leases = {w: lease for w, lease in self._leases.items() if lease[1] > now}
        return self._leases

    async def held(self) -> set[int]:
        return set(self._live())

    async def claim(self, worker_id: int, owner: str, ttl_s: int) -> bool:
        if worker_id in self._live():
            return False
        self._leases[worker_id] = (owner, self._clock() + ttl_s)
        return True

    async def renew(self, worker_id: int, owner: str, ttl_s: int) -> bool:
        lease = self._live().get(worker_id)
        if lease is None or lease[0] != owner:
            return False
        self._leases[worker_id] = (owner, self._clock() + ttl_s)
        return True

    async def release(self, worker_id: int, owner: str) -> None:
        lease = self._live().get(worker_id)
        if lease is not None and lease[0] == owner:
            del self._leases[worker_id]

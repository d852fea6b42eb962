"""A worker id leased from a shared store, held while the process lives.

Any number of processes of any service mint ids (common/ids.py); each needs a worker id that
no other live process holds. The store keeps one row per held id with a time to live: a
process claims the lowest free id, renews it every sixth of the lease (every second while a
renewal fails), and deletes it on a graceful stop. One that crashes keeps its id until the
lease runs out, so a new process takes another; the crashed one's id is free again after it.

A process stops minting before the store could give its id away: it counts its lease from
when it *sent* the last successful renewal and stops at two thirds of it, so a loaded store
has several renewals' time to answer (one that is down, or a pause of the process, costs new
ids, never a duplicate). When a renewal finds the id taken (the lease ran out during a long
pause), the process claims a new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from common.errors import Unavailable
from common.ids import MAX_WORKER_ID

log = logging.getLogger(__name__)
RETRY_S = 1.0  # between attempts while the store does not answer
# A store may end a lease up to a second early (Cassandra counts TTLs in whole seconds): the
# third of a lease that a process stops minting before its end must cover that second.
MIN_LEASE_S = 6


class LeaseStore(Protocol):
    """Where the held worker ids are (tests/contract/test_worker_leases.py)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def held(self) -> set[int]:
        """The worker ids whose leases have not run out."""
        ...

    async def claim(self, worker_id: int, owner: str, ttl_s: int) -> bool:
        """Takes `worker_id` for `ttl_s` if nobody holds it; says whether it did."""
        ...

    async def renew(self, worker_id: int, owner: str, ttl_s: int) -> bool:
        """Extends `owner`'s lease to `ttl_s` from now; False if `owner` no longer holds it."""
        ...

    async def release(self, worker_id: int, owner: str) -> None:
        """Frees `worker_id` if `owner` holds it."""
        ...


class LeasedWorkerId:
    """A worker id from a `LeaseStore`: a resource (open claims, close releases) whose
    `keep` worker renews it, and a `common.ids.WorkerId`.

    Example:
        worker = LeasedWorkerId(CassandraLeaseStore(config), owner="post_svc", ttl_s=30)
        await worker.open()              # claims the lowest free id
        ids = IdGenerator(worker)        # mints while the lease holds
        asyncio.create_task(worker.keep())
    """

    def __init__(
        self,
        store: LeaseStore,
        *,
        owner: str,
        ttl_s: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < MIN_LEASE_S:
            raise ValueError(f"a worker id lease lasts at least {MIN_LEASE_S} s")
        self._store = store
        # Unique per process start: a restarted process never mistakes its old lease for its own.
        self._owner = f"{owner}:{uuid.uuid4().hex[:12]}"
        self._ttl_s = ttl_s
        self._clock = clock
        self._worker_id: int | None = None
        self._valid_until = 0.0

    @property
    def owner(self) -> str:
        return self._owner

    def current(self) -> int:
        if self._worker_id is None or self._clock() >= self._valid_until:
            raise Unavailable("this process's worker id lease lapsed; it is being renewed")
        return self._worker_id

    async def open(self) -> None:
        await self._store.open()
        await self._claim()

    async def close(self) -> None:
        worker_id, self._worker_id = self._worker_id, None
        try:
            if worker_id is not None:
                await self._store.release(worker_id, self._owner)
        finally:
            await self._store.close()

    async def keep(self) -> None:
        """Renews the lease every sixth of it, or every second while renewals fail, until
        cancelled (a background worker)."""
        renewed = True
        while True:
            await asyncio.sleep(self._ttl_s / 6 if renewed else RETRY_S)
            renewed = await self.renew()

    async def renew(self) -> bool:
        """One renewal: extends the lease, or claims a new id if this one was lost. False
        when the store did not answer (the lease is as it was)."""
        if self._worker_id is None:
            await self._claim()
            return True
        sent_at = self._clock()
        try:
            kept = await self._store.renew(self._worker_id, self._owner, self._ttl_s)
        except Exception as exc:  # the store is down: mint on until the lease's safe end
            log.warning("renewing worker id %d failed: %r", self._worker_id, exc)
            return False
        if kept:
            self._valid_until = sent_at + self._ttl_s * 2 / 3
            return True
        log.error("worker id %d was lost (its lease ran out); claiming another", self._worker_id)
        self._worker_id = None
        await self._claim()
        return True

    async def _claim(self) -> None:
        """Claims the lowest free id; retries while the store does not answer."""
        while True:
            try:
                held = await self._store.held()
                for worker_id in range(MAX_WORKER_ID + 1):
                    if worker_id in held:
                        continue
                    sent_at = self._clock()
                    if await self._store.claim(worker_id, self._owner, self._ttl_s):
                        self._worker_id = worker_id
                        self._valid_until = sent_at + self._ttl_s * 2 / 3
                        log.info("worker id %d leased by %s", worker_id, self._owner)
                        return
                    held.add(worker_id)  # taken since the listing
            except Exception as exc:
                log.warning("claiming a worker id failed: %r; trying again", exc)
                await asyncio.sleep(RETRY_S)
                continue
            raise Unavailable(f"all {MAX_WORKER_ID + 1} worker ids are leased")

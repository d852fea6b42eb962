"""Time-ordered 64-bit ids (Snowflake layout), generated locally without coordination.

Layout: 41 bits of milliseconds since EPOCH_MS, 10 bits of worker id, 12 bits of sequence.
Ids from one generator strictly increase; ids from different workers order by time. Ids are
unique as long as no two live processes use one worker id: each process holds its id for as
long as it mints (common/worker_ids/).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER_ID = (1 << WORKER_BITS) - 1
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class WorkerId(Protocol):
    """The worker id this process may mint with now."""

    def current(self) -> int:
        """The id; raises `Unavailable` while the process holds none (it must not mint)."""
        ...


class FixedWorkerId:
    """A worker id that is this process's alone by construction (tests, single tools)."""

    def __init__(self, worker_id: int) -> None:
        if not 0 <= worker_id <= MAX_WORKER_ID:
            raise ValueError(f"worker_id must be within 0..{MAX_WORKER_ID}")
        self._worker_id = worker_id

    def current(self) -> int:
        return self._worker_id


class IdGenerator:
    """Makes unique, increasing ids.

    Example:
        ids = IdGenerator(FixedWorkerId(3))
        post_id = ids.next_id()
    """

    def __init__(self, worker: WorkerId, clock: Callable[[], int] = now_ms) -> None:
        self._worker = worker
        self._clock = clock
        self._last_ms = 0
        self._sequence = 0

    def next_id(self) -> int:
        worker_id = self._worker.current()  # raises, and mints nothing, without a held id
        # A clock that steps back must not produce duplicates: keep using the last millisecond.
        ms = max(self._clock(), self._last_ms)
        if ms == self._last_ms:
            self._sequence = (self._sequence + 1) & _SEQUENCE_MASK
            if self._sequence == 0:
                ms += 1  # 4096 ids in one millisecond: borrow the next one rather than block
        else:
            self._sequence = 0
        self._last_ms = ms
        return (
            ((ms - EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS))
            | (worker_id << SEQUENCE_BITS)
            | self._sequence
        )


def timestamp_ms(id_: int) -> int:
    """The millisecond an id was made in."""
    return (id_ >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS


def worker_of(id_: int) -> int:
    """The worker id an id was made with."""
    return (id_ >> SEQUENCE_BITS) & MAX_WORKER_ID

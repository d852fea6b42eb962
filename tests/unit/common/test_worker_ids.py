"""Worker ids: a lease that stops minting before the store could give its id away, and
lock files that a crash frees at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from common.errors import Unavailable
from common.ids import IdGenerator, worker_of
from common.worker_ids.lease import LeasedWorkerId
from common.worker_ids.lock_file import LockFileWorkerId
from common.worker_ids.memory import InMemoryLeaseStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def leased(store: InMemoryLeaseStore, clock: Clock, ttl_s: int = 30) -> LeasedWorkerId:
    worker = LeasedWorkerId(store, owner="post_svc", ttl_s=ttl_s, clock=clock)
    await worker.open()
    return worker


async def test_processes_lease_the_lowest_free_ids_and_a_stop_frees_its_own() -> None:
    clock = Clock()
    store = InMemoryLeaseStore(clock)
    first, second = await leased(store, clock), await leased(store, clock)
    assert (first.current(), second.current()) == (0, 1)
    await first.close()
    third = await leased(store, clock)
    assert third.current() == 0
    assert worker_of(IdGenerator(third).next_id()) == 0


async def test_a_crashed_holders_id_is_taken_again_only_after_its_lease() -> None:
    clock = Clock()
    store = InMemoryLeaseStore(clock)
    await leased(store, clock, ttl_s=30)  # crashes: never renews, never releases
    clock.now += 29
    assert (await leased(store, clock)).current() == 1
    clock.now += 2
    assert (await leased(store, clock)).current() == 0


async def test_renewals_keep_the_id_and_minting_stops_before_the_lease_could_lapse() -> None:
    clock = Clock()
    store = InMemoryLeaseStore(clock)
    worker = await leased(store, clock, ttl_s=30)
    for _ in range(5):
        clock.now += 10
        await worker.renew()
        assert worker.current() == 0
    store.down = True
    clock.now += 10
    assert not await worker.renew()  # fails: the id is still safe to use for a while
    assert worker.current() == 0
    clock.now += 10  # 20 s since the last renewal was sent: 2/3 of the lease
    with pytest.raises(Unavailable):
        worker.current()
    with pytest.raises(Unavailable):
        IdGenerator(worker).next_id()
    store.down = False
    assert await worker.renew()
    assert worker.current() == 0  # the store still had it: renewed in time


async def test_an_id_lost_during_a_long_pause_is_replaced_by_another() -> None:
    clock = Clock()
    store = InMemoryLeaseStore(clock)
    paused = await leased(store, clock, ttl_s=30)
    clock.now += 31  # the process was stopped longer than its lease
    newcomer = await leased(store, clock)
    assert newcomer.current() == 0
    with pytest.raises(Unavailable):
        paused.current()
    await paused.renew()
    assert paused.current() == 1


async def test_lock_files_give_each_process_its_own_id(tmp_path: Path) -> None:
    first, second = LockFileWorkerId(tmp_path), LockFileWorkerId(tmp_path)
    await first.open()
    await second.open()
    assert (first.current(), second.current()) == (0, 1)
    await first.close()
    with pytest.raises(Unavailable):
        first.current()
    again = LockFileWorkerId(tmp_path)
    await again.open()
    assert again.current() == 0
    await again.close()
    await second.close()


def test_a_crashed_process_frees_its_locked_id_at_once(tmp_path: Path) -> None:
    def locked() -> LockFileWorkerId:
        worker = LockFileWorkerId(tmp_path)
        asyncio.run(worker.open())
        return worker

    with subprocess.Popen(
        [sys.executable, "-c", HOLD_A_WORKER_ID, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "0"
        here = locked()
        assert here.current() == 1
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert locked().current() == 0  # at once: the kernel dropped the dead holder's lock


# A process that locks a worker id, prints it, and holds it until killed.
HOLD_A_WORKER_ID = """
import asyncio, sys
from pathlib import Path
from common.worker_ids.lock_file import LockFileWorkerId
worker = LockFileWorkerId(Path(sys.argv[1]))
asyncio.run(worker.open())
print(worker.current(), flush=True)
sys.stdin.read()
"""

"""The worker pool on real processes: a crash or a hang costs one job, never the pool."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest

from media_svc.pool import ProcessPool, WorkerDied, WorkerTimedOut

# A stand-in worker: echoes, crashes like a decoder with a bad pointer, or hangs.
WORKER = """
import json, os, signal, sys, time
for line in sys.stdin:
    job = json.loads(line)
    if job["do"] == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if job["do"] == "hang":
        time.sleep(3600)
    if job["do"] == "allocate":
        bytearray(512 * 1024 * 1024)
    print(json.dumps({"pid": os.getpid(), "echo": job["do"]}), flush=True)
"""


@pytest.fixture
async def pool() -> AsyncIterator[ProcessPool]:
    pool = ProcessPool(
        [sys.executable, "-c", WORKER], size=1, memory_bytes=256 * 1024 * 1024, max_jobs=3
    )
    await pool.open()
    yield pool
    await pool.close()


async def test_jobs_are_answered(pool: ProcessPool) -> None:
    assert (await pool.run({"do": "hello"}, timeout_s=10))["echo"] == "hello"


async def test_a_crash_fails_one_job_and_the_worker_is_replaced(pool: ProcessPool) -> None:
    first = await pool.run({"do": "x"}, timeout_s=10)
    with pytest.raises(WorkerDied, match="SIGSEGV"):
        await pool.run({"do": "crash"}, timeout_s=10)
    after = await pool.run({"do": "x"}, timeout_s=10)
    assert after["echo"] == "x"
    assert after["pid"] != first["pid"]


async def test_a_hang_is_killed_at_the_timeout(pool: ProcessPool) -> None:
    with pytest.raises(WorkerTimedOut):
        await pool.run({"do": "hang"}, timeout_s=0.5)
    assert (await pool.run({"do": "x"}, timeout_s=10))["echo"] == "x"


async def test_memory_is_capped(pool: ProcessPool) -> None:
    with pytest.raises(WorkerDied):  # MemoryError kills the stand-in; the pool lives on
        await pool.run({"do": "allocate"}, timeout_s=10)
    assert (await pool.run({"do": "x"}, timeout_s=10))["echo"] == "x"


async def test_workers_are_recycled_after_max_jobs(pool: ProcessPool) -> None:
    pids = [(await pool.run({"do": "x"}, timeout_s=10))["pid"] for _ in range(4)]
    assert pids[0] == pids[1] == pids[2] != pids[3]

"""The worker pool on real processes: a crash or a hang costs one job, never the pool; a
worker killed from outside costs nothing (the job is retried)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media_svc.decoding.contract import JobKind, RejectedMedia
from media_svc.pool import ProcessPool, WorkerDied, WorkerTimedOut
from media_svc.processing import PooledProcessor
from tests.unit.common.test_outages import until

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


# A stand-in decoder: dies by SIGKILL (as if an operator or the OOM killer struck) on the jobs
# named in a file, SIGSEGV on "crash", and otherwise answers an empty render.
DECODER = """
import json, os, signal, sys
for line in sys.stdin:
    job = json.loads(line)
    left = int(open(sys.argv[1]).read()) if os.path.exists(sys.argv[1]) else 0
    if left > 0:
        open(sys.argv[1], "w").write(str(left - 1))
        os.kill(os.getpid(), signal.SIGKILL)
    if job["content_type"] == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    result = {"width": 4, "height": 3, "duration_ms": 0, "placeholder": None, "renditions": []}
    print(json.dumps({"result": result}), flush=True)
"""


async def test_a_job_whose_worker_is_killed_is_retried_and_only_a_killer_file_fails(
    tmp_path: Path,
) -> None:
    kills = tmp_path / "kills"
    pool = ProcessPool([sys.executable, "-c", DECODER, str(kills)], size=1)
    await pool.open()
    try:
        processor = PooledProcessor(pool, {JobKind.PHOTO: 10}, attempts=3)
        kills.write_text("2")  # the first two workers to take the job are killed from outside
        result = await processor.render(JobKind.PHOTO, tmp_path / "a.jpg", "image/jpeg", tmp_path)
        assert (result.width, result.height) == (4, 3)
        with pytest.raises(RejectedMedia, match=r"crashed the decoder 3 times.*SIGSEGV"):
            await processor.render(JobKind.PHOTO, tmp_path / "b.jpg", "crash", tmp_path)
    finally:
        await pool.close()


SLOW_DECODER = """
import json, sys, time
for line in sys.stdin:
    time.sleep(0.3)
    result = {"width": 4, "height": 3, "duration_ms": 0, "placeholder": None, "renditions": []}
    print(json.dumps({"result": result}), flush=True)
"""


async def test_a_retry_never_goes_to_a_worker_killed_with_the_first(tmp_path: Path) -> None:
    """One kill takes every worker: the retry must not land on another victim of it."""
    pool = ProcessPool([sys.executable, "-c", SLOW_DECODER], size=2)
    await pool.open()
    try:
        processor = PooledProcessor(pool, {JobKind.PHOTO: 10}, attempts=2)
        rendering = asyncio.create_task(
            processor.render(JobKind.PHOTO, tmp_path / "a.jpg", "image/jpeg", tmp_path)
        )
        await asyncio.sleep(0)  # the job is on its way to a worker
        for worker in list(pool._workers):  # the OOM killer's sweep, or `kill -9` of them all
            worker.process.kill()
        result = await rendering
        assert (result.width, result.height) == (4, 3)
    finally:
        await pool.close()


async def test_a_worker_killed_while_idle_is_replaced_at_once(pool: ProcessPool) -> None:
    first = (await pool.run({"do": "hi"}, timeout_s=5))["pid"]
    os.kill(first, signal.SIGKILL)

    # Without a job to notice it: the pool keeps its size between jobs.
    await until(lambda: pool.pids() not in ({first}, set()))
    assert (await pool.run({"do": "hi"}, timeout_s=5))["pid"] != first  # no failed job
    assert pool.busy() == 0

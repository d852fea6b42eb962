"""A bounded pool of long-lived worker processes, each doing one job at a time.

A job is one JSON line in and one JSON line out. A worker that overruns its timeout is
killed; one that dies (a decoder crash, the memory limit) is replaced; either way only
that job fails. Workers are also replaced after `max_jobs`, so leaks cannot build up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)
_ANSWER_LIMIT = 1024 * 1024


class WorkerTimedOut(Exception):
    pass


class WorkerDied(Exception):
    pass


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.jobs = 0
        self.started_at = time.monotonic()

    async def call(self, job: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self.process.stdin
        assert self.process.stdout
        self.jobs += 1
        try:
            self.process.stdin.write(json.dumps(job).encode() + b"\n")
            async with asyncio.timeout(timeout_s):
                await self.process.stdin.drain()
                line = await self.process.stdout.readline()
        except (BrokenPipeError, ConnectionResetError):
            line = b""
        if not line:
            code = await self.process.wait()
            cause = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            raise WorkerDied(cause)
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


class ProcessPool:
    """Example:
    pool = ProcessPool([sys.executable, "-m", WORKER_MODULE, limits.to_json()], size=2)
    await pool.open()
    answer = await pool.run(job.to_wire(), timeout_s=30)
    """

    def __init__(
        self,
        command: Sequence[str],
        size: int,
        *,
        memory_bytes: int | None = None,
        max_jobs: int = 500,
    ) -> None:
        limit = (
            [] if memory_bytes is None else ["prlimit", f"--as={memory_bytes}", "--core=0", "--"]
        )
        self._command = [*limit, *command]
        self._size = size
        self._max_jobs = max_jobs
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()

    async def open(self) -> None:
        for _ in range(self._size):
            self._idle.put_nowait(await self._spawn())

    async def close(self) -> None:
        await asyncio.gather(*(worker.stop() for worker in list(self._workers)))
        self._workers.clear()

    def busy(self) -> int:
        """Workers running a job now."""
        return self._size - self._idle.qsize()

    @property
    def size(self) -> int:
        return self._size

    async def run(
        self, job: dict[str, Any], timeout_s: float, *, started_after: float = 0.0
    ) -> dict[str, Any]:
        """Runs `job` on an idle worker; with `started_after` (a `time.monotonic()` value), on
        one started since then: a retry after a worker died must not go to another worker
        killed by the same cause (one kill of the whole pool, the OOM killer's sweep)."""
        worker = await self._idle.get()
        try:
            if worker.started_at <= started_after or worker.process.returncode is not None:
                worker = await self._replace(worker)
            answer = await worker.call(job, timeout_s)
            if worker.jobs >= self._max_jobs:
                worker = await self._replace(worker)
            return answer
        except TimeoutError as exc:
            log.warning("a media worker overran %.0f s on %s; replacing it", timeout_s, job)
            worker = await self._replace(worker)
            raise WorkerTimedOut(f"no answer within {timeout_s:.0f} s") from exc
        except WorkerDied as exc:
            log.warning("a media worker died (%s) on %s; replacing it", exc, job)
            worker = await self._replace(worker)
            raise
        except BaseException:  # cancelled mid-job: the worker's state is unknown
            worker = await self._replace(worker)
            raise
        finally:
            self._idle.put_nowait(worker)

    async def _replace(self, worker: _Worker) -> _Worker:
        await worker.stop()
        self._workers.discard(worker)
        return await self._spawn()

    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_ANSWER_LIMIT,
        )
        worker = _Worker(process)
        self._workers.add(worker)
        return worker

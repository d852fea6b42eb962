"""A bounded pool of long-lived worker processes, each doing one job at a time.

A job is one JSON line in and one JSON line out. A worker that overruns its timeout is
killed; one that dies (a decoder crash, the memory limit) is replaced; either way only
that job fails. One that dies while idle (an operator's kill, the OOM killer) is replaced at
once, so the pool keeps its size between jobs too. Workers are also replaced after
`max_jobs`, so leaks cannot build up.
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
        self.busy = False  # running a job: its death is the job's to report
        self.retired = False  # replaced: skipped if it is still in the idle queue

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
        self._watchers: set[asyncio.Task[None]] = set()
        self._closing = False

    async def open(self) -> None:
        for _ in range(self._size):
            self._idle.put_nowait(await self._spawn())

    async def close(self) -> None:
        self._closing = True
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*(worker.stop() for worker in list(self._workers)))
        self._workers.clear()

    def busy(self) -> int:
        """Workers running a job now."""
        return sum(1 for worker in self._workers if worker.busy)

    def pids(self) -> set[int]:
        """The live workers' process ids."""
        return {w.process.pid for w in self._workers}

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
        while worker.retired:  # died while idle; its replacement is in the queue too
            worker = await self._idle.get()
        worker.busy = True
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
            worker.busy = False
            self._idle.put_nowait(worker)

    async def _replace(self, worker: _Worker) -> _Worker:
        worker.retired = True
        await worker.stop()
        self._workers.discard(worker)
        return await self._spawn()

    async def _watch(self, worker: _Worker) -> None:
        """Replaces the worker as soon as it dies idle."""
        await worker.process.wait()
        if worker.busy or worker.retired or self._closing:
            return  # its job reports it, or it was replaced or stopped on purpose
        log.warning("an idle media worker died (exit %s); replacing it", worker.process.returncode)
        worker.retired = True
        self._workers.discard(worker)
        self._idle.put_nowait(await self._spawn())

    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_ANSWER_LIMIT,
        )
        worker = _Worker(process)
        self._workers.add(worker)
        watcher = asyncio.create_task(self._watch(worker))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return worker

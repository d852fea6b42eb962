"""Worker ids on one machine (the embedded default): a lock file per id in the data
directory, held with flock while the process lives.

The kernel releases a lock when its holder exits, however it exits, so a crashed process's id
is free at once (no lease to wait out) and two processes on the machine never hold one id.
The data directory is one machine's; replicas on several machines need the production store.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from pathlib import Path

from common.errors import Unavailable
from common.ids import MAX_WORKER_ID

log = logging.getLogger(__name__)


class LockFileWorkerId:
    """A resource (open locks the lowest free id, close unlocks) and a `common.ids.WorkerId`.

    Example:
        worker = LockFileWorkerId(data_dir / "worker-ids")
        await worker.open()
        ids = IdGenerator(worker)
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._fd: int | None = None
        self._worker_id: int | None = None

    def current(self) -> int:
        if self._worker_id is None:
            raise Unavailable("this process holds no worker id (it is not open)")
        return self._worker_id

    async def open(self) -> None:
        self._worker_id = await asyncio.to_thread(self._lock_lowest_free)
        log.info("worker id %d locked in %s", self._worker_id, self._directory)

    async def keep(self) -> None:
        """Nothing to renew: the kernel holds the lock for as long as the process lives."""

    async def close(self) -> None:
        fd, self._fd, self._worker_id = self._fd, None, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    def _lock_lowest_free(self) -> int:
        self._directory.mkdir(parents=True, exist_ok=True)
        for worker_id in range(MAX_WORKER_ID + 1):
            fd = os.open(self._directory / f"{worker_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # another live process holds it
                continue
            self._fd = fd
            return worker_id
        raise Unavailable(f"all {MAX_WORKER_ID + 1} worker ids are locked in {self._directory}")

"""One process at a time receives or processes an upload, whichever replica it is.

The hold is a claim in the shared UploadStore with a short time to live, extended every third
of it while the work goes on: a process that dies loses its claims within CLAIM_S (at once
when it starts again), and any replica can then take the work over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from media_svc.storage.base import UploadStore

CLAIM_S = 30
POLL_S = 0.05  # how often a waiting claimant looks again
RECEIVING = "receive"  # a request storing the upload's bytes
PROCESSING = "process"  # rendering an upload or adding its AVIF

log = logging.getLogger(__name__)


class Claim:
    """Example:
    async with claimed(store, upload_id, PROCESSING, ProcessName("media")) as claim:
        if claim is None:
            return  # another process is at it
        ...  # `await claim.still_held()` before anything that must not be done twice
    """

    def __init__(self, store: UploadStore, upload_id: int, work: str, owner: str) -> None:
        self._store, self._upload_id, self._work, self._owner = store, upload_id, work, owner

    async def take(self) -> bool:
        """Claims the work, or extends the claim; whether this holder has it now."""
        return await self._store.claim(self._upload_id, self._work, self._owner, CLAIM_S)

    async def still_held(self) -> bool:
        """Extends the claim; False when it ran out and another process took it (this one
        paused longer than CLAIM_S): what this holder made must not be stored."""
        return await self.take()

    async def keep(self) -> None:
        """Extends the claim every third of it; until cancelled."""
        while True:
            await asyncio.sleep(CLAIM_S / 3)
            try:
                await self.take()
            except Exception:  # still_held() decides before anything is stored
                log.warning("upload %s: extending the claim failed", self._upload_id)

    async def release(self) -> None:
        await self._store.release(self._upload_id, self._work, self._owner)


@dataclass(frozen=True, slots=True)
class ProcessName:
    """How this process signs its claims: `instance` names the replica, unique among live
    processes and the same when it starts again (PHOTOSHARE_INSTANCE_ID, which Kafka's static
    membership needs anyway); `run` is new at every start. A claim signed by an earlier run of
    the same replica was left by a crash, and is taken over at once instead of waiting for it
    to run out."""

    instance: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __str__(self) -> str:
        return f"{self.instance}/{self.run}"

    def left_by_earlier_run(self, holder: str) -> bool:
        instance, _, rest = holder.partition("/")
        return instance == self.instance and not rest.startswith(f"{self.run}/")


async def live_holder(
    store: UploadStore, upload_id: int, work: str, process: ProcessName
) -> str | None:
    """Who holds the work; a claim an earlier run of this replica left is released and does
    not count."""
    holder = await store.holder(upload_id, work)
    if holder is not None and process.left_by_earlier_run(holder):
        log.info("upload %s: taking over %s work left by %s", upload_id, work, holder)
        await store.release(upload_id, work, holder)
        return None
    return holder


@contextlib.asynccontextmanager
async def claimed(
    store: UploadStore, upload_id: int, work: str, process: ProcessName, *, wait_s: float = 0
) -> AsyncIterator[Claim | None]:
    """The claim while the block runs, kept and then released; None when another holder has
    it (for `wait_s`). Each claim gets an owner of its own, so two requests or jobs in one
    process exclude each other too."""
    claim = Claim(store, upload_id, work, f"{process}/{uuid.uuid4().hex}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    taken = await claim.take()
    while not taken:
        if await live_holder(store, upload_id, work, process) is None:
            taken = await claim.take()  # it was let go, or left by a crashed run: at once
            continue
        if loop.time() >= deadline:
            yield None
            return
        # The holder may be another process: its claim is polled, there is nothing to wait on.
        await asyncio.sleep(POLL_S)
        taken = await claim.take()
    keeping = asyncio.create_task(claim.keep())
    try:
        yield claim
    finally:
        keeping.cancel()
        await asyncio.shield(claim.release())

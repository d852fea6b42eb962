"""Waking the embedded log's consumers when an event is published, in any process.

Every process that publishes touches a marker file after its commit; every process that
consumes watches the marker's directory with inotify (asyncinotify: the kernel's queue read
from the event loop, nothing polled) and wakes its waiting consumers. The touch comes after
the commit, so a woken consumer always finds the event. Watching the WAL instead would wake
consumers on the write before the commit is visible, and on every consumer's own commit.

Where inotify is unavailable (not Linux, or the watch limit reached) consumers poll instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from asyncinotify import Inotify, Mask

log = logging.getLogger(__name__)


class LogChanges:
    """Example:
    changes = LogChanges(data_dir / "events.db.changed")
    await changes.start()
    async with changes.watching() as changed:   # before looking for events
        if nothing_new:
            await changed.wait()                 # until the next publish anywhere
    changes.published()                          # after a publish's commit
    """

    def __init__(self, marker: Path) -> None:
        self._marker = marker
        self._waiters: set[asyncio.Event] = set()
        self._inotify: Inotify | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def watched(self) -> bool:
        """Whether publishes wake waiters (else they must poll)."""
        return self._task is not None

    async def start(self) -> None:
        await asyncio.to_thread(self._marker.touch)
        try:
            inotify = Inotify()
            inotify.add_watch(self._marker.parent, Mask.ATTRIB | Mask.CREATE | Mask.MOVED_TO)
        except OSError as exc:
            log.warning("no inotify for %s (%s): consumers poll instead", self._marker, exc)
            return
        self._inotify = inotify
        self._task = asyncio.create_task(self._watch(inotify))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None

    def published(self) -> None:
        """Tells every watching process that an event was committed.

        On the loop, not in a thread: a `utime` changes metadata only, in microseconds,
        whereas the default executor may be busy for a hundred milliseconds with an image
        (media_svc), which delayed every consumer's wake-up behind it."""
        os.utime(self._marker)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[asyncio.Event]:
        """An event set by the next publish after entering: enter before looking, so that a
        publish between the look and the wait is not missed."""
        changed = asyncio.Event()
        self._waiters.add(changed)
        try:
            yield changed
        finally:
            self._waiters.discard(changed)

    async def _watch(self, inotify: Inotify) -> None:
        async for event in inotify:
            overflowed = Mask.Q_OVERFLOW in event.mask  # events were lost: wake everyone
            if overflowed or (event.name is not None and event.name.name == self._marker.name):
                for waiter in self._waiters:
                    waiter.set()

"""Waking the embedded log's consumers when an event is published, in any process.

Every process that publishes touches its topic's marker file after its commit; every process
that consumes watches the markers' directory with inotify (asyncinotify: the kernel's queue
read from the event loop, nothing polled) and wakes the consumers waiting for that topic, and
only those: the others would look for nothing, once per publish. The touch comes after the
commit, so a woken consumer always finds the event. Watching the WAL instead would wake
consumers on the write before the commit is visible, and on every consumer's own commit.

Where inotify is unavailable (not Linux, or the watch limit reached) consumers poll instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from asyncinotify import Inotify, Mask

log = logging.getLogger(__name__)


class LogChanges:
    """Example:
    changes = LogChanges(data_dir, "events.db")
    await changes.start()
    async with changes.watching(["posts"]) as changed:   # before looking for events
        if nothing_new:
            await changed.wait()              # until the next publish to "posts" anywhere
    changes.published("posts")                # after a publish's commit
    """

    def __init__(self, directory: Path, prefix: str) -> None:
        self._directory = directory
        self._prefix = f"{prefix}."
        self._waiters: dict[asyncio.Event, frozenset[str]] = {}
        self._inotify: Inotify | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def watched(self) -> bool:
        """Whether publishes wake waiters (else they must poll)."""
        return self._task is not None

    def marker(self, topic: str) -> Path:
        return self._directory / f"{self._prefix}{topic}.changed"

    async def start(self) -> None:
        try:
            inotify = Inotify()
            inotify.add_watch(self._directory, Mask.ATTRIB | Mask.CREATE | Mask.MOVED_TO)
        except OSError as exc:
            log.warning("no inotify in %s (%s): consumers poll instead", self._directory, exc)
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

    def published(self, topic: str) -> None:
        """Tells every watching process that an event of `topic` was committed.

        On the loop, not in a thread: a `utime` (or, the first time, a create) changes
        metadata only, in microseconds, whereas the default executor may be busy for a
        hundred milliseconds with an image (media_svc), which delayed wake-ups behind it."""
        self.marker(topic).touch()

    @contextlib.asynccontextmanager
    async def watching(self, topics: Iterable[str]) -> AsyncIterator[asyncio.Event]:
        """An event set by the next publish to one of `topics` after entering: enter before
        looking, so that a publish between the look and the wait is not missed."""
        changed = asyncio.Event()
        self._waiters[changed] = frozenset(topics)
        try:
            yield changed
        finally:
            del self._waiters[changed]

    async def _watch(self, inotify: Inotify) -> None:
        async for event in inotify:
            topic = _topic_of(event.name.name if event.name else "", self._prefix)
            overflowed = Mask.Q_OVERFLOW in event.mask  # events were lost: wake everyone
            if topic is None and not overflowed:
                continue
            for waiter, topics in self._waiters.items():
                if overflowed or topic in topics:
                    waiter.set()


def _topic_of(name: str, prefix: str) -> str | None:
    """The topic whose marker `name` is, if it is one."""
    if name.startswith(prefix) and name.endswith(".changed"):
        return name[len(prefix) : -len(".changed")]
    return None

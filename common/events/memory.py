"""An event log in one process's memory: for unit tests of handlers and emitters.

It keeps the contract of the durable logs (order per key, positions committed after the
handler, retries then dead letters) so that a test which passes here means what it says;
what it cannot do is survive its process, so no service is wired to it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from common.events.base import EventRecord, Handler, tail_delivery
from common.events.outbox import OutboxEntry
from common.tracing import event_headers

log = logging.getLogger(__name__)


@dataclass
class Journal:
    """What every client of one in-memory log shares: the events and the groups' positions
    (a new client on the same journal is a restarted process)."""

    records: list[EventRecord] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, list[EventRecord]] = field(default_factory=dict)
    appended: asyncio.Event = field(default_factory=asyncio.Event)


class InMemoryEventLog:
    """EventPublisher and EventSubscriber in memory.

    Example:
        log = InMemoryEventLog()
        await publish_event(log, event)
        await log.drain("feed", [TOPIC_POSTS], handler)   # delivers what is there, returns
    """

    def __init__(
        self, journal: Journal | None = None, *, retry_delays_s: Sequence[float] = (0.0,)
    ) -> None:
        self.journal = journal or Journal()
        self._retry_delays_s = tuple(retry_delays_s)

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        journal = self.journal
        journal.records.append(
            EventRecord(topic, key, value, len(journal.records) + 1, event_headers())
        )
        journal.appended.set()

    def published(self, topic: str | None = None) -> list[EventRecord]:
        """Every event published so far (of one topic), oldest first."""
        return [r for r in self.journal.records if topic is None or r.topic == topic]

    async def run(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        while True:
            self.journal.appended.clear()
            if not await self.drain(group, topics, handler):
                await self.journal.appended.wait()

    async def drain(self, group: str, topics: Sequence[str], handler: Handler) -> int:
        """Delivers every event of `topics` past the group's position; returns how many."""
        journal = self.journal
        delivered = 0
        while (position := journal.positions.get(group, 0)) < len(journal.records):
            record = journal.records[position]
            if record.topic in topics:
                await self._deliver(group, record, handler)
                delivered += 1
            journal.positions[group] = position + 1
        return delivered

    async def tail(
        self, topics: Sequence[str], handler: Handler, ready: Callable[[], None]
    ) -> None:
        position = len(self.journal.records)
        ready()
        while True:
            self.journal.appended.clear()
            while position < len(self.journal.records):
                record = self.journal.records[position]
                position += 1
                if record.topic in topics:
                    await tail_delivery(record, handler)
            await self.journal.appended.wait()

    async def dead_letters(self, group: str) -> list[EventRecord]:
        return list(self.journal.dead_letters.get(group, []))

    async def _deliver(self, group: str, record: EventRecord, handler: Handler) -> None:
        for delay in (*self._retry_delays_s, None):
            try:
                await handler(record)
                return
            except Exception as exc:
                if delay is None:
                    log.warning("event %s of %s set aside: %r", record.offset, group, exc)
                    self.journal.dead_letters.setdefault(group, []).append(record)
                    return
                await asyncio.sleep(delay)


class InMemoryOutbox:
    """OutboxStore in memory (unit and contract tests)."""

    def __init__(self) -> None:
        self.entries: list[OutboxEntry] = []

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def append(self, entry: OutboxEntry) -> None:
        self.entries.append(entry)
        self.entries.sort(key=lambda e: e.id.time)

    async def oldest(self, limit: int) -> list[OutboxEntry]:
        return self.entries[:limit]

    async def remove_through(self, entry_id: uuid.UUID) -> None:
        self.entries = [e for e in self.entries if e.id.time > entry_id.time]

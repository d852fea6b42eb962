"""The embedded event log: one SQLite table that every service process shares."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import aiosqlite

from common.events.base import (
    EVENT_RETENTION_S,
    LAG_REPORT_S,
    EventRecord,
    Handler,
    LagReport,
    tail_delivery,
)
from common.events.changes import LogChanges
from common.ids import now_ms
from common.sqlite import Database
from common.tracing import event_headers

log = logging.getLogger(__name__)

# Every this many events, a publish also trims what is past the retention: a cheap indexed
# delete, rare enough to cost nothing per event.
TRIM_EVERY = 1000
# With publishes waking consumers, they still look this often: a safety net that costs one
# indexed query per consumer, not a way to learn of events.
RECHECK_S = 5.0

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        created_at_ms INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS events_by_topic ON events (topic, position)",
    "CREATE INDEX IF NOT EXISTS events_by_age ON events (created_at_ms)",
    """CREATE TABLE IF NOT EXISTS consumer_positions (
        group_id TEXT PRIMARY KEY,
        position INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        group_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        topic TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        error TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (group_id, position))""",
    # The publisher's trace context, as JSON pairs (common/tracing.py).
    "ALTER TABLE events ADD COLUMN headers TEXT NOT NULL DEFAULT '[]'",
)


class SqliteEventLog:
    """Publisher and subscriber over a SQLite file. Consumers read an indexed table when a
    publish wakes them (common/events/changes.py), and look again every `recheck_s` in any
    case; without inotify they poll every `poll_interval_s`.

    Example:
        log = SqliteEventLog(data_dir / "events.db")
        await log.open()
        await log.publish("posts", "42", payload)
        await log.run("feed", ["posts"], handle)   # until cancelled
    """

    def __init__(
        self,
        path: Path,
        *,
        poll_interval_s: float = 0.02,
        recheck_s: float = RECHECK_S,
        batch_size: int = 100,
        retry_delays_s: Sequence[float] = (0.05, 0.2, 0.5, 1.0, 2.0),
        retention_s: int = EVENT_RETENTION_S,
        trim_every: int = TRIM_EVERY,
        report_lag: LagReport | None = None,
    ) -> None:
        self._report_lag = report_lag
        self._retention_s = retention_s
        self._trim_every = trim_every
        self._db = Database(path, schema=SCHEMA)
        self._poll_interval_s = poll_interval_s
        self._recheck_s = recheck_s
        self._changes = LogChanges(path.parent, path.name)
        self._batch_size = batch_size
        self._retry_delays_s = tuple(retry_delays_s)

    async def open(self) -> None:
        await self._db.open()
        await self._changes.start()

    async def close(self) -> None:
        await self._changes.close()
        await self._db.close()

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        now = now_ms()
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO events (topic, key, value, created_at_ms, headers) "
                "VALUES (?, ?, ?, ?, ?)",
                (topic, key, value, now, json.dumps(event_headers())),
            )
            if cursor.lastrowid is not None and cursor.lastrowid % self._trim_every == 0:
                await self._trim(tx, now - self._retention_s * 1000)
        self._changes.published(topic)  # after the commit: a woken consumer finds it

    @staticmethod
    async def _trim(tx: aiosqlite.Connection, before_ms: int) -> None:
        """Events (and dead letters) older than the retention go, as Kafka's segments do."""
        await tx.execute("DELETE FROM events WHERE created_at_ms < ?", (before_ms,))
        await tx.execute("DELETE FROM dead_letters WHERE created_at_ms < ?", (before_ms,))

    async def run(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        position = await self._committed(group)
        committed = position
        report_lag = self._report_lag

        async def report_lag_periodically() -> None:
            while report_lag is not None:
                try:
                    await self._report(group, topics, position, report_lag)
                except Exception:  # a gauge left stale for a while, never a stopped consumer
                    log.warning("lag of %s not measured", group, exc_info=True)
                await asyncio.sleep(LAG_REPORT_S)

        reporting = asyncio.create_task(report_lag_periodically())
        try:
            while True:
                for record in await self._next_batch(topics, position):
                    await self._deliver(group, record, handler)
                    position = record.offset
                await self._commit(group, position)
                committed = position
        finally:
            reporting.cancel()
            if position != committed:
                # A graceful stop keeps what was handled; only a crash redelivers.
                await asyncio.shield(self._commit(group, position))

    async def _report(
        self, group: str, topics: Sequence[str], position: int, report: LagReport
    ) -> None:
        marks = ",".join("?" for _ in topics)
        rows = await self._db.fetchall(
            f"SELECT topic, COUNT(*) AS behind FROM events WHERE topic IN ({marks}) "
            "AND position > ? GROUP BY topic",
            (*topics, position),
        )
        behind = {row["topic"]: int(row["behind"]) for row in rows}
        for topic in topics:
            report(group, topic, behind.get(topic, 0))

    async def tail(
        self, topics: Sequence[str], handler: Handler, ready: Callable[[], None]
    ) -> None:
        row = await self._db.fetchone("SELECT COALESCE(MAX(position), 0) AS last FROM events")
        position = int(row["last"]) if row else 0
        ready()
        while True:
            for record in await self._next_batch(topics, position):
                await tail_delivery(record, handler)
                position = record.offset

    async def _next_batch(self, topics: Sequence[str], after: int) -> list[EventRecord]:
        """The next events of `topics` past `after`, once there are any."""
        marks = ",".join("?" for _ in topics)
        query = (
            f"SELECT position, topic, key, value, headers FROM events WHERE topic IN ({marks}) "
            "AND position > ? ORDER BY position LIMIT ?"
        )
        wait_s = self._recheck_s if self._changes.watched else self._poll_interval_s
        while True:
            async with self._changes.watching(topics) as published:
                rows = await self._db.fetchall(query, (*topics, after, self._batch_size))
                if rows:
                    return [
                        EventRecord(
                            r["topic"],
                            r["key"],
                            r["value"],
                            r["position"],
                            tuple((k, v) for k, v in json.loads(r["headers"])),
                        )
                        for r in rows
                    ]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(published.wait(), wait_s)

    async def _deliver(self, group: str, record: EventRecord, handler: Handler) -> None:
        for attempt, delay in enumerate((*self._retry_delays_s, None)):
            try:
                await handler(record)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if delay is None:
                    log.exception("event %s of %s set aside as a dead letter", record.offset, group)
                    await self._dead_letter(group, record, repr(exc))
                    return
                log.warning(
                    "event %s of %s failed (attempt %d): %r", record.offset, group, attempt + 1, exc
                )
                await asyncio.sleep(delay)

    async def _committed(self, group: str) -> int:
        row = await self._db.fetchone(
            "SELECT position FROM consumer_positions WHERE group_id = ?", (group,)
        )
        return int(row["position"]) if row else 0

    async def _commit(self, group: str, position: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO consumer_positions (group_id, position) VALUES (?, ?) "
                "ON CONFLICT (group_id) DO UPDATE SET position = excluded.position",
                (group, position),
            )

    async def dead_letters(self, group: str) -> list[EventRecord]:
        rows = await self._db.fetchall(
            "SELECT position, topic, key, value FROM dead_letters WHERE group_id = ? "
            "ORDER BY position",
            (group,),
        )
        return [EventRecord(r["topic"], r["key"], r["value"], r["position"]) for r in rows]

    async def _dead_letter(self, group: str, record: EventRecord, error: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?, ?)",
                (group, record.offset, record.topic, record.key, record.value, error, now_ms()),
            )

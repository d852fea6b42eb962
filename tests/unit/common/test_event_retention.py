"""The embedded event log keeps events as long as Kafka's topics do, then trims them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from common.events.base import EVENT_RETENTION_S
from common.events.sqlite import SqliteEventLog
from common.ids import now_ms


def stored(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT key FROM events ORDER BY position")]


async def test_events_past_the_retention_are_trimmed_every_so_many_publishes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    log = SqliteEventLog(path, trim_every=3)
    await log.open()
    try:
        await log.publish("users", "old", b"1")
        await log.publish("users", "recent", b"2")
        with sqlite3.connect(path) as db:  # the first one is past the retention
            old = now_ms() - EVENT_RETENTION_S * 1000 - 1
            db.execute("UPDATE events SET created_at_ms = ? WHERE key = 'old'", (old,))
        await log.publish("users", "new", b"3")  # the third publish trims
        assert stored(path) == ["recent", "new"]
    finally:
        await log.close()

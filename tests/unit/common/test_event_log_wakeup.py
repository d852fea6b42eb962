"""The embedded log wakes its consumers when any process publishes: no polling while idle."""

from __future__ import annotations

import asyncio
from pathlib import Path

from common.events.base import EventRecord
from common.events.sqlite import SqliteEventLog

NEVER_S = 3600.0  # neither polling nor the safety re-check could deliver in time


async def test_a_publish_from_another_log_wakes_a_waiting_consumer(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    consumer = SqliteEventLog(path, poll_interval_s=NEVER_S, recheck_s=NEVER_S)
    publisher = SqliteEventLog(path)  # as another process would open it
    await consumer.open()
    await publisher.open()
    received: asyncio.Queue[EventRecord] = asyncio.Queue()

    async def handle(record: EventRecord) -> None:
        await received.put(record)

    consuming = asyncio.create_task(consumer.run("group", ["users"], handle))
    try:
        for key in ("first", "second"):  # the first wakes it once; so does the second
            await publisher.publish("users", key, b"")
            record = await asyncio.wait_for(received.get(), timeout=10)
            assert record.key == key
    finally:
        consuming.cancel()
        await asyncio.gather(consuming, return_exceptions=True)
        await publisher.close()
        await consumer.close()

"""EventPublisher/EventSubscriber contract: order, resume after restart, dead letters."""

from __future__ import annotations

import asyncio
import contextlib

from common.events.base import EventRecord
from common.events.sqlite import SqliteEventLog


async def consume_until(
    log: SqliteEventLog, group: str, handler_fail: set[bytes], count: int
) -> list[bytes]:
    got: list[bytes] = []
    done = asyncio.Event()

    async def handler(record: EventRecord) -> None:
        if record.value in handler_fail:
            raise RuntimeError("poison")
        got.append(record.value)
        if len(got) >= count:
            done.set()

    task = asyncio.create_task(log.run(group, ["a", "b"], handler))
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return got


async def test_delivers_in_order_across_topics_of_a_group(event_log: SqliteEventLog) -> None:
    for i, topic in enumerate(["a", "b", "c", "a"]):
        await event_log.publish(topic, "k", f"e{i}".encode())
    assert await consume_until(event_log, "g", set(), 3) == [b"e0", b"e1", b"e3"]


async def test_committed_position_survives_a_restart(event_log: SqliteEventLog, tmp_path) -> None:
    await event_log.publish("a", "k", b"first")
    assert await consume_until(event_log, "g", set(), 1) == [b"first"]
    await event_log.publish("a", "k", b"second")
    reopened = SqliteEventLog(tmp_path / "events.db", poll_interval_s=0.01)
    await reopened.open()
    try:
        assert await consume_until(reopened, "g", set(), 1) == [b"second"]
        assert await consume_until(reopened, "other-group", set(), 2) == [b"first", b"second"]
    finally:
        await reopened.close()


async def test_poison_event_goes_to_dead_letters_and_the_rest_flow(
    event_log: SqliteEventLog,
) -> None:
    for value in (b"ok1", b"poison", b"ok2"):
        await event_log.publish("a", "k", value)
    assert await consume_until(event_log, "g", {b"poison"}, 2) == [b"ok1", b"ok2"]
    assert [r.value for r in await event_log.dead_letters("g")] == [b"poison"]

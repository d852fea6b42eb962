"""OutboxStore contract: durable entries, oldest first, removed through a sent one."""

from __future__ import annotations

import uuid
from typing import Any

from common.events.outbox import OutboxEntry


def entry(value: bytes) -> OutboxEntry:
    return OutboxEntry(uuid.uuid1(), "follows", "42", value)


async def test_entries_come_back_oldest_first_and_go_once_sent(outbox: Any) -> None:
    assert await outbox.oldest(10) == []
    entries = [entry(f"e{i}".encode()) for i in range(5)]
    for e in entries:
        await outbox.append(e)
    assert await outbox.oldest(10) == entries
    assert await outbox.oldest(2) == entries[:2]
    await outbox.remove_through(entries[2].id)
    assert await outbox.oldest(10) == entries[3:]
    await outbox.append(later := entry(b"later"))
    await outbox.remove_through(entries[4].id)
    assert await outbox.oldest(10) == [later]


async def test_an_entry_keeps_its_bytes(outbox: Any) -> None:
    binary = entry(bytes(range(256)) * 4)
    await outbox.append(binary)
    assert await outbox.oldest(1) == [binary]


async def test_an_entry_keeps_the_trace_it_was_published_in(outbox: Any) -> None:
    traced = OutboxEntry(
        uuid.uuid1(),
        "posts",
        "7",
        b"v",
        (("traceparent", "00-0af7-00f0-01"), ("tracestate", "a=1")),
    )
    await outbox.append(traced)
    (back,) = await outbox.oldest(1)
    assert dict(back.headers) == dict(traced.headers)

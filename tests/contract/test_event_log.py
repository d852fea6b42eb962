"""EventPublisher/EventSubscriber contract: order per key, resume, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from common.events.base import EventRecord


async def consume_until(
    log: Any, group: str, poison: set[bytes], count: int, topics: tuple[str, ...] = ("a", "b")
) -> list[EventRecord]:
    got: list[EventRecord] = []
    done = asyncio.Event()

    async def handler(record: EventRecord) -> None:
        if record.value in poison:
            raise RuntimeError("poison")
        got.append(record)
        if len(got) >= count:
            done.set()

    task = asyncio.create_task(log.run(group, list(topics), handler))
    try:
        await asyncio.wait_for(done.wait(), timeout=30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return got


async def test_delivers_each_keys_events_in_order(event_log: Any) -> None:
    for i, topic in enumerate(["a", "b", "c", "a", "a"]):
        await event_log.publish(topic, "k", f"e{i}".encode())
    got = await consume_until(event_log, "g", set(), 4)
    assert [r.value for r in got if r.topic == "a"] == [b"e0", b"e3", b"e4"]
    assert [r.value for r in got if r.topic == "b"] == [b"e1"]  # "c" is not subscribed


async def test_committed_position_survives_a_restart(
    event_log: Any, event_log_factory: Callable[[], Any]
) -> None:
    await event_log.publish("a", "k", b"first")
    assert [r.value for r in await consume_until(event_log, "g", set(), 1)] == [b"first"]
    await event_log.publish("a", "k", b"second")
    reopened = event_log_factory()
    await reopened.open()
    try:
        assert [r.value for r in await consume_until(reopened, "g", set(), 1)] == [b"second"]
        again = await consume_until(reopened, "other-group", set(), 2)
        assert [r.value for r in again] == [b"first", b"second"]
    finally:
        await reopened.close()


async def test_poison_event_goes_to_dead_letters_and_the_rest_flow(event_log: Any) -> None:
    for value in (b"ok1", b"poison", b"ok2"):
        await event_log.publish("a", "k", value)
    got = await consume_until(event_log, "g", {b"poison"}, 2)
    assert [r.value for r in got] == [b"ok1", b"ok2"]

    async def parked() -> list[bytes]:
        return [r.value for r in await event_log.dead_letters("g")]

    # The poison event is retried, then parked: wait for it with a deadline.
    async def eventually_parked() -> None:
        while await parked() != [b"poison"]:  # noqa: ASYNC110 - polls a topic, not a flag
            await asyncio.sleep(0.05)

    retrying = asyncio.create_task(consume_until(event_log, "g", {b"poison"}, 10**9))
    try:
        await asyncio.wait_for(eventually_parked(), timeout=30)
    finally:
        retrying.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await retrying


async def test_a_tail_gets_every_event_published_after_it_is_ready_in_every_process(
    event_log: Any, event_log_factory: Callable[[], Any]
) -> None:
    await event_log.publish("a", "k", b"before")  # not delivered: tails start at the end
    other_process = event_log_factory()
    await other_process.open()
    got: dict[str, list[bytes]] = {"one": [], "two": []}
    arrived = asyncio.Event()

    def handler(name: str) -> Callable[[EventRecord], Any]:
        async def handle(record: EventRecord) -> None:
            if record.value == b"broken":
                raise RuntimeError("a failing handler is skipped")
            got[name].append(record.value)
            if all(len(values) == 2 for values in got.values()):
                arrived.set()

        return handle

    readies = [asyncio.Event(), asyncio.Event()]
    tails = [
        asyncio.create_task(log.tail(["a"], handler(name), ready.set))
        for log, name, ready in zip(
            (event_log, other_process), ("one", "two"), readies, strict=True
        )
    ]
    try:
        for ready in readies:
            await asyncio.wait_for(ready.wait(), timeout=60)
        for value in (b"first", b"broken", b"other topic", b"second"):
            await event_log.publish("b" if value == b"other topic" else "a", "k", value)
        await asyncio.wait_for(arrived.wait(), timeout=30)
        assert got == {"one": [b"first", b"second"], "two": [b"first", b"second"]}
    finally:
        for task in tails:
            task.cancel()
        for task in tails:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await other_process.close()

"""EventPublisher/EventSubscriber contract: order per key, resume, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from common.events.base import EventRecord
from tests import servers
from tests.traces import TRACEPARENT, in_recorded_trace


async def consume_until(
    log: Any,
    group: str,
    poison: set[bytes],
    count: int,
    topics: tuple[str, ...] = ("a", "b"),
    handler: Callable[[EventRecord], Awaitable[None]] | None = None,
) -> list[EventRecord]:
    """The first `count` events `group` handles (a poison event's handler raises; `handler`,
    if given, runs first and may raise too)."""
    got: list[EventRecord] = []
    done = asyncio.Event()

    async def handle(record: EventRecord) -> None:
        if record.value in poison:
            raise RuntimeError("poison")
        if handler is not None:
            await handler(record)
        got.append(record)
        if len(got) >= count:
            done.set()

    task = asyncio.create_task(log.run(group, list(topics), handle))
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


async def test_an_event_carries_the_trace_it_was_published_in(event_log: Any) -> None:
    with in_recorded_trace():
        await event_log.publish("a", "k", b"traced")
    await event_log.publish("a", "k", b"untraced")
    first, second = await consume_until(event_log, "g", set(), 2)
    assert dict(first.headers)["traceparent"] == TRACEPARENT
    assert second.headers == ()  # published outside any trace


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


async def test_an_event_that_fails_a_while_is_delivered_once_it_succeeds(event_log: Any) -> None:
    attempts = 0

    async def flaky_then_fine(record: EventRecord) -> None:
        nonlocal attempts
        if record.value == b"flaky":
            attempts += 1
            if attempts < 3:  # past the in-place retries: it goes through the retry queue
                raise RuntimeError("not yet")

    await event_log.publish("a", "k1", b"flaky")
    await event_log.publish("a", "k2", b"steady")
    got = await consume_until(event_log, "g", set(), 2, handler=flaky_then_fine)
    assert sorted(r.value for r in got) == [b"flaky", b"steady"]
    assert attempts == 3
    assert await event_log.dead_letters("g") == []


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


@pytest.mark.production
async def test_kafka_holds_a_retry_until_it_is_due_while_live_events_flow() -> None:
    """Kafka reads a group's retry topic with the same consumer as its live topics: the retry
    partition pauses until its event is due, and the live partitions do not wait for it."""
    from common.events.kafka import KafkaEventLog

    servers.require_kafka()
    prefix = servers.unique_prefix()
    log = KafkaEventLog(
        servers.KAFKA_BOOTSTRAP,
        topic_prefix=prefix,
        partitions=2,
        inline_retry_delays_s=(),
        retry_delays_s=(2.0, 2.0),
    )
    await log.open()
    arrivals: dict[bytes, float] = {}
    failed_at: float | None = None
    live_after_failure = asyncio.Event()

    async def handler(record: EventRecord) -> None:
        nonlocal failed_at
        if record.value == b"flaky" and failed_at is None:
            failed_at = time.monotonic()
            live_after_failure.set()
            raise RuntimeError("fails once")
        arrivals[record.value] = time.monotonic()

    try:
        await log.publish("a", "k", b"flaky")
        consuming = asyncio.create_task(consume_until(log, "g", set(), 4, handler=handler))
        await asyncio.wait_for(live_after_failure.wait(), timeout=30)
        for value in (b"live1", b"live2", b"live3"):
            await log.publish("a", value.decode(), value)
        await asyncio.wait_for(consuming, timeout=30)
    finally:
        await log.close()
        servers.drop_topics(prefix)
    assert failed_at is not None
    assert all(arrivals[v] < arrivals[b"flaky"] for v in (b"live1", b"live2", b"live3"))
    assert arrivals[b"flaky"] - failed_at >= 2.0  # held until due, not retried at once

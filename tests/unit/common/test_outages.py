"""What keeps a request or an event alive while a dependency is down: the circuit breaker,
the outbox in front of the broker, and consumers that wait an outage out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from common.breaker import CircuitBreaker, CircuitState
from common.errors import InvalidArgument, Unavailable
from common.events.base import EventRecord, consumer
from common.events.memory import InMemoryEventLog, InMemoryOutbox
from common.events.outbox import OutboxEntry, OutboxEventLog
from tests.traces import TRACEPARENT, in_recorded_trace


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_failures_in_a_row_and_probes_once_per_interval() -> None:
    clock = Clock()
    breaker = CircuitBreaker("redis", failure_threshold=3, retry_after_s=1.0, clock=clock)
    breaker.failed()
    breaker.succeeded()  # not in a row
    breaker.failed()
    breaker.failed()
    assert breaker.allows()
    breaker.failed()
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allows()
    clock.now += 1.0
    assert breaker.allows()  # one probe...
    assert not breaker.allows()  # ...and only one
    breaker.failed()
    assert not breaker.allows()
    clock.now += 1.0
    assert breaker.allows()
    breaker.succeeded()
    assert breaker.state.name == "CLOSED"
    assert all(breaker.allows() for _ in range(5))


class FlakyBroker(InMemoryEventLog):
    """An in-memory broker that can be down: publishing then hangs, as Kafka's does."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        if self.down:
            await asyncio.Event().wait()  # never acknowledged
        await super().publish(topic, key, value)


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


async def test_outbox_keeps_events_while_the_broker_is_down_and_sends_them_in_order() -> None:
    broker, outbox = FlakyBroker(), InMemoryOutbox()
    events = OutboxEventLog(broker, outbox, send_timeout_s=0.05, relay_retry_s=0.02)
    await events.open()
    try:
        await events.publish("follows", "1", b"follow")
        broker.down = True
        async with asyncio.timeout(1):  # answered although the broker is gone
            await events.publish("follows", "1", b"unfollow")
            await events.publish("follows", "1", b"follow again")
        assert events.holding_back
        assert [e.value for e in outbox.entries] == [b"unfollow", b"follow again"]
        assert [r.value for r in broker.published()] == [b"follow"]

        broker.down = False
        await events.publish("follows", "1", b"unfollow again")  # behind the others
        await until(lambda: not events.holding_back)
        assert [r.value for r in broker.published()] == [
            b"follow",
            b"unfollow",
            b"follow again",
            b"unfollow again",
        ]
        assert outbox.entries == []
        await events.publish("follows", "1", b"direct")
        assert broker.published()[-1].value == b"direct"
    finally:
        await events.close()


async def test_outbox_left_by_a_stopped_process_is_sent_by_the_next_one() -> None:
    broker, outbox = FlakyBroker(), InMemoryOutbox()
    broker.down = True
    first = OutboxEventLog(broker, outbox, send_timeout_s=0.05, relay_retry_s=0.02)
    await first.open()
    await first.publish("posts", "7", b"published")
    await first.close()
    broker.down = False
    second = OutboxEventLog(broker, outbox, send_timeout_s=0.05, relay_retry_s=0.02)
    await second.open()
    try:
        await until(lambda: [r.value for r in broker.published()] == [b"published"])
        await until(lambda: not second.holding_back)
    finally:
        await second.close()


async def test_an_event_relayed_from_the_outbox_stays_in_its_publishers_trace() -> None:
    broker, outbox = FlakyBroker(), InMemoryOutbox()
    broker.down = True
    events = OutboxEventLog(broker, outbox, send_timeout_s=0.05, relay_retry_s=0.02)
    await events.open()
    try:
        with in_recorded_trace():
            await events.publish("posts", "7", b"published")
        broker.down = False
        await until(lambda: len(broker.published()) == 1)
        assert dict(broker.published()[0].headers)["traceparent"] == TRACEPARENT
    finally:
        await events.close()


class FlakyOutbox(InMemoryOutbox):
    """An outbox whose store fails its next read (a Cassandra timeout)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next_read = False

    async def oldest(self, limit: int) -> list[OutboxEntry]:
        if self.fail_next_read:
            self.fail_next_read = False
            raise TimeoutError("the outbox's store did not answer")
        return await super().oldest(limit)


async def test_the_relay_survives_a_failing_outbox_store() -> None:
    broker, outbox = FlakyBroker(), FlakyOutbox()
    broker.down = True
    events = OutboxEventLog(broker, outbox, send_timeout_s=0.05, relay_retry_s=0.02)
    await events.open()
    try:
        outbox.fail_next_read = True
        await events.publish("posts", "7", b"kept")
        broker.down = False
        await until(lambda: [r.value for r in broker.published()] == [b"kept"])
    finally:
        await events.close()


class FailingHandler:
    group = "g"
    topics = ("posts",)

    def __init__(self, failures: Sequence[Exception]) -> None:
        self.failures = list(failures)
        self.handled: list[bytes] = []

    async def __call__(self, record: EventRecord) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.handled.append(record.value)


async def run_until_handled(log: InMemoryEventLog, handler: FailingHandler, count: int) -> None:
    task = asyncio.ensure_future(consumer(log, handler)())
    try:
        await until(
            lambda: len(handler.handled) + len(log.journal.dead_letters.get("g", [])) >= count
        )
    finally:
        task.cancel()


async def test_an_event_waits_out_an_outage_instead_of_becoming_a_dead_letter() -> None:
    log = InMemoryEventLog(retry_delays_s=(0.0,))  # a failing event gets one more try
    handler = FailingHandler([Unavailable("Redis is down")] * 3)
    await log.publish("posts", "1", b"first")
    await log.publish("posts", "1", b"second")
    await run_until_handled(log, handler, 2)
    assert handler.handled == [b"first", b"second"]
    assert await log.dead_letters("g") == []


async def test_an_event_that_is_itself_wrong_still_becomes_a_dead_letter() -> None:
    log = InMemoryEventLog(retry_delays_s=(0.0,))
    handler = FailingHandler([InvalidArgument("bad"), InvalidArgument("bad")])
    await log.publish("posts", "1", b"poison")
    await log.publish("posts", "1", b"fine")
    await run_until_handled(log, handler, 2)
    assert handler.handled == [b"fine"]
    assert [r.value for r in await log.dead_letters("g")] == [b"poison"]

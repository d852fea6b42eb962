"""The event log on Kafka (kafka-python, whose calls block: each runs off the event loop).

Topics are `<prefix><topic>`; keys keep one entity's events in one partition, in order. A
consumer commits its offsets only after its handler returned. A handler that still fails after
quick in-place retries sends the event to `<prefix><group>.retry`, which the same consumer
reads beside the live topics: a retry partition whose next event is not due yet is paused
and its events wait in memory until then (the live partitions flow meanwhile), and an event
that fails its last retry is parked in `<prefix><group>.dlq`. A poison event never blocks its
partition and never disappears silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata, TopicPartition

from common.events.base import (
    EVENT_RETENTION_S,
    LAG_REPORT_S,
    TOPICS,
    EventRecord,
    Handler,
    LagReport,
    tail_delivery,
)
from common.tracing import event_headers

log = logging.getLogger(__name__)
T = TypeVar("T")
LAG_LOG_INTERVAL_S = 30.0
# kafka-python backs off up to 30 s between reconnects; a broker back from a restart should be
# used again within seconds (the outbox waits for it, and so does every consumer).
RECONNECT_BACKOFF_MAX_MS = 2_000
# An idle consumer costs what its wake-ups cost (tests/bench/idle.py), so there are few: one
# consumer per group, not one per topic; the broker holds a fetch until records arrive (they
# are delivered at once) or FETCH_MAX_WAIT_MS passes, which is also how long a partition that
# becomes fetchable meanwhile (newly assigned, resumed) may wait for its first records (one
# fetch per broker is in flight); a poll without records returns after POLL_TIMEOUT_MS,
# which is also how long a stop may wait for it (each empty poll costs kafka-python ~0.6 ms
# of CPU); heartbeats every HEARTBEAT_MS, a third of the session.
FETCH_MAX_WAIT_MS = 5_000
POLL_TIMEOUT_MS = 5_000
SESSION_TIMEOUT_MS = 30_000
HEARTBEAT_MS = 10_000


class KafkaEventLog:
    """EventPublisher and EventSubscriber on Kafka.

    Example:
        events = KafkaEventLog("127.0.0.1:9092", topic_prefix="photoshare.")
        await events.open()
        await events.publish("posts", "42", payload)
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        topic_prefix: str = "photoshare.",
        partitions: int = 6,
        replication: int = 1,
        instance_id: str = "",
        report_lag: LagReport | None = None,
        inline_retry_delays_s: Sequence[float] = (0.05, 0.2),
        retry_delays_s: Sequence[float] = (1.0, 5.0, 30.0),
    ) -> None:
        self._bootstrap = bootstrap
        self._prefix = topic_prefix
        self._partitions = partitions
        self._replication = replication
        self._instance_id = instance_id
        self._report_lag = report_lag
        self._inline_delays = tuple(inline_retry_delays_s)
        self._retry_delays = tuple(retry_delays_s)
        self._producer: KafkaProducer | None = None
        self._known_topics: set[str] = set()
        self._producer_thread = ThreadPoolExecutor(1, thread_name_prefix="kafka-producer")

    def topic_name(self, topic: str) -> str:
        return f"{self._prefix}{topic}"

    async def open(self) -> None:
        await self._create_topics([self.topic_name(t) for t in TOPICS])
        self._producer = await self._in(
            self._producer_thread,
            lambda: KafkaProducer(
                bootstrap_servers=self._bootstrap,
                reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
                enable_idempotence=True,  # no duplicates from the producer's own retries
                acks="all",
                linger_ms=2,
                max_block_ms=10_000,
                request_timeout_ms=10_000,
                delivery_timeout_ms=30_000,
            ),
        )

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._in(self._producer_thread, lambda: producer.close(timeout=10))
        self._producer_thread.shutdown(wait=False)

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        name = self.topic_name(topic)
        await self._create_topics([name])
        # The publisher's trace context travels in the message's headers.
        headers = [(k, v.encode()) for k, v in event_headers()]
        await self._send(name, key, value, headers)

    async def _send(
        self, topic: str, key: str, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        producer = self._producer
        if producer is None:
            raise RuntimeError("the Kafka event log is not open")
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[None] = loop.create_future()
        # send() may block on metadata or a full buffer: it runs on the producer's thread.
        sent = await self._in(
            self._producer_thread,
            lambda: producer.send(topic, key=key.encode(), value=value, headers=headers),
        )
        sent.add_callback(lambda _: loop.call_soon_threadsafe(_settle, acked, None))
        sent.add_errback(lambda exc: loop.call_soon_threadsafe(_settle, acked, exc))
        await acked  # acknowledged by all in-sync replicas

    async def run(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        retry, dead = self.topic_name(f"{group}.retry"), self.topic_name(f"{group}.dlq")
        live = [self.topic_name(t) for t in topics]
        await self._create_topics([retry, dead, *live])

        async def deliver(record: EventRecord, headers: dict[str, bytes], topic: str) -> None:
            if topic == retry:
                await self._redelivery(record, headers, handler, retry, dead)
            else:
                await self._first_delivery(record, handler, retry)

        await self._consume(group, [*live, retry], deliver)

    async def _consume(
        self,
        group: str,
        topics: list[str],
        deliver: Callable[[EventRecord, dict[str, bytes], str], Awaitable[None]],
    ) -> None:
        thread = ThreadPoolExecutor(1, thread_name_prefix=f"kafka-{group}")  # owns the consumer
        consumer = await self._in(
            thread,
            lambda: KafkaConsumer(
                bootstrap_servers=self._bootstrap,
                reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                request_timeout_ms=FETCH_MAX_WAIT_MS + 20_000,  # must exceed the fetch wait
                group_id=self.topic_name(group),
                # Static membership: a consumer restarted after a crash takes its partitions
                # back at once instead of waiting for the dead member's session to expire.
                group_instance_id=(
                    f"{self.topic_name(group)}:{self._instance_id}" if self._instance_id else None
                ),
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=HEARTBEAT_MS,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=200,
            ),
        )
        held = _HeldRetries()
        await self._in(thread, lambda: _subscribe_when_known(consumer, topics, held))
        next_lag_log = time.monotonic() + LAG_LOG_INTERVAL_S
        next_lag_report = time.monotonic()
        handled: dict[TopicPartition, OffsetAndMetadata] = {}

        def commit() -> None:
            # Explicit offsets: a batch cut short by a stop commits only what was handled.
            if handled:
                consumer.commit(dict(handled))
                handled.clear()

        def poll() -> dict[TopicPartition, list[Any]]:
            records: dict[TopicPartition, list[Any]]
            records = consumer.poll(timeout_ms=held.poll_timeout_ms(POLL_TIMEOUT_MS))
            return records

        async def handle(partition: TopicPartition, messages: list[Any]) -> None:
            for i, message in enumerate(messages):
                headers = dict(message.headers or [])
                due_at = int(headers.get("not-before", b"0")) / 1000
                if due_at > time.time():
                    # A retry not due yet: it and the rest of its partition wait in memory, and
                    # the partition is paused meanwhile; the live partitions flow on.
                    held.hold(partition, due_at, messages[i:])
                    await self._in(thread, partial(consumer.pause, partition))
                    return
                record = EventRecord(
                    topic=headers.get("origin", message.topic.encode())
                    .decode()
                    .removeprefix(self._prefix),
                    key=(message.key or b"").decode(),
                    value=message.value,
                    offset=message.offset,
                    headers=_trace_context(headers),
                )
                await deliver(record, headers, message.topic)
                handled[partition] = OffsetAndMetadata(message.offset + 1, "", -1)

        try:
            while True:
                for partition, messages in held.take_due():
                    await self._in(thread, partial(consumer.resume, partition))
                    await handle(partition, messages)
                batch = await self._in(thread, poll)
                for partition, records in batch.items():
                    await handle(partition, records)
                await self._in(thread, commit)  # only after the work is done
                now = time.monotonic()
                if now > next_lag_report:
                    lags = await self._in(thread, lambda: _lag(consumer))
                    next_lag_report = now + LAG_REPORT_S
                    for topic, lag in lags.items():
                        if self._report_lag is not None:
                            self._report_lag(group, topic.removeprefix(self._prefix), lag)
                    if now > next_lag_log:
                        next_lag_log = now + LAG_LOG_INTERVAL_S
                        log.info("consumer group %s lag %d", group, sum(lags.values()))
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._in(thread, commit))
            with contextlib.suppress(Exception):
                await asyncio.shield(self._in(thread, consumer.close))
            thread.shutdown(wait=False)

    async def tail(
        self, topics: Sequence[str], handler: Handler, ready: Callable[[], None]
    ) -> None:
        names = [self.topic_name(t) for t in topics]
        await self._create_topics(names)
        thread = ThreadPoolExecutor(1, thread_name_prefix="kafka-tail")  # owns the consumer
        consumer = await self._in(
            thread,
            lambda: KafkaConsumer(
                bootstrap_servers=self._bootstrap,
                reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                request_timeout_ms=FETCH_MAX_WAIT_MS + 20_000,
                group_id=None,  # no group: every partition, nothing committed
                enable_auto_commit=False,
            ),
        )

        def start_at_the_end() -> None:
            partitions = [
                TopicPartition(name, p) for name in names for p in _partitions(consumer, name)
            ]
            consumer.assign(partitions)
            consumer.seek_to_end(*partitions)
            for partition in partitions:
                consumer.position(partition)  # fixes the end now, not at the first poll

        try:
            await self._in(thread, start_at_the_end)
            ready()
            while True:
                batch = await self._in(thread, lambda: consumer.poll(timeout_ms=POLL_TIMEOUT_MS))
                for records in batch.values():
                    for message in records:
                        record = EventRecord(
                            message.topic.removeprefix(self._prefix),
                            (message.key or b"").decode(),
                            message.value,
                            message.offset,
                            _trace_context(dict(message.headers or [])),
                        )
                        await tail_delivery(record, handler)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._in(thread, consumer.close))
            thread.shutdown(wait=False)

    async def _first_delivery(self, record: EventRecord, handler: Handler, retry: str) -> None:
        error = await self._try(record, handler, self._inline_delays)
        if error is not None:
            log.warning(
                "event %s/%s failed, sent for retry: %r", record.topic, record.offset, error
            )
            await self._park(record, retry, attempt=1, error=error)

    async def _redelivery(
        self,
        record: EventRecord,
        headers: dict[str, bytes],
        handler: Handler,
        retry: str,
        dead: str,
    ) -> None:
        attempt = int(headers.get("attempt", b"1"))
        error = await self._try(record, handler, ())
        if error is None:
            return
        if attempt >= len(self._retry_delays):
            log.error(
                "event %s/%s failed %d times, parked in %s: %r",
                record.topic,
                record.offset,
                attempt,
                dead,
                error,
            )
            await self._park(record, dead, attempt=attempt, error=error)
        else:
            await self._park(record, retry, attempt=attempt + 1, error=error)

    async def _try(
        self, record: EventRecord, handler: Handler, delays: Sequence[float]
    ) -> Exception | None:
        for delay in (*delays, None):
            try:
                await handler(record)
                return None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if delay is None:
                    return exc
                await asyncio.sleep(delay)
        return None

    async def _park(
        self, record: EventRecord, topic: str, *, attempt: int, error: Exception
    ) -> None:
        delay = self._retry_delays[min(attempt, len(self._retry_delays)) - 1]
        headers = [
            *((k, v.encode()) for k, v in record.headers),  # a retry stays in its trace
            ("origin", self.topic_name(record.topic).encode()),
            ("attempt", str(attempt).encode()),
            ("error", repr(error)[:500].encode()),
        ]
        if topic.endswith(".retry"):
            # The consumer holds the retry partition until this moment, so retries back off.
            headers.append(("not-before", str(int((time.time() + delay) * 1000)).encode()))
        await self._send(topic, record.key, record.value, headers)

    async def dead_letters(self, group: str) -> list[EventRecord]:
        """The events parked in the group's dead-letter topic (for operators and tests)."""
        dead = self.topic_name(f"{group}.dlq")

        def read() -> list[EventRecord]:
            consumer = KafkaConsumer(
                bootstrap_servers=self._bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                consumer_timeout_ms=1000,
            )
            try:
                consumer.subscribe([dead])
                return [
                    EventRecord(
                        dict(m.headers).get("origin", b"").decode().removeprefix(self._prefix),
                        (m.key or b"").decode(),
                        m.value,
                        m.offset,
                    )
                    for m in consumer
                ]
            finally:
                consumer.close()

        return await asyncio.to_thread(read)

    async def _create_topics(self, names: list[str]) -> None:
        """Creates missing topics (the broker does not auto-create): partitions are a choice."""
        names = [n for n in names if n not in self._known_topics]
        if not names:
            return

        def create() -> None:
            admin = KafkaAdminClient(bootstrap_servers=self._bootstrap)
            try:
                existing = set(admin.list_topics())
                retention = {"retention.ms": str(EVENT_RETENTION_S * 1000)}
                wanted = [
                    NewTopic(n, self._partitions, self._replication, topic_configs=retention)
                    for n in names
                    if n not in existing
                ]
                if wanted:
                    with contextlib.suppress(TopicAlreadyExistsError):
                        admin.create_topics(wanted)
                # A consumer that joins its group while a topic has no partition leaders yet
                # is assigned nothing for it: return only once every partition has a leader.
                deadline = time.monotonic() + 30
                while not _all_led(admin.describe_topics(names)):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"Kafka did not make {names} ready in 30 s")
                    time.sleep(0.1)
            finally:
                admin.close()

        await asyncio.to_thread(create)
        self._known_topics.update(names)

    @staticmethod
    async def _in(thread: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(thread, call)


class _HeldRetries(ConsumerRebalanceListener):  # type: ignore[misc]
    """Retry events not due yet, by partition: each paused partition's waiting messages (the
    one not due and those after it), in memory until they are due.

    They are not sought back to: a fetch the broker holds (FETCH_MAX_WAIT_MS) would delay them
    once due. A partition taken away by a rebalance is forgotten here (the listener runs on the
    consumer's thread, inside poll, while the loop waits for it): whoever gets it next reads
    its messages again from the committed offset.
    """

    def __init__(self) -> None:
        self._held: dict[TopicPartition, tuple[float, list[Any]]] = {}

    def hold(self, partition: TopicPartition, due_at: float, messages: list[Any]) -> None:
        self._held[partition] = (due_at, messages)

    def take_due(self) -> list[tuple[TopicPartition, list[Any]]]:
        now = time.time()
        due = [(p, messages) for p, (at, messages) in self._held.items() if at <= now]
        for partition, _ in due:
            del self._held[partition]
        return due

    def poll_timeout_ms(self, longest_ms: int) -> int:
        """Long enough to sleep through, short enough to wake when the next one is due."""
        if not self._held:
            return longest_ms
        soonest_ms = (min(at for at, _ in self._held.values()) - time.time()) * 1000
        return max(0, min(longest_ms, int(soonest_ms) + 1))

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        for partition in revoked:
            self._held.pop(partition, None)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass


def _subscribe_when_known(
    consumer: KafkaConsumer, topics: list[str], listener: ConsumerRebalanceListener
) -> None:
    """Subscribes once the consumer's own metadata knows every topic's partitions: a group
    joined earlier is assigned nothing for a topic it does not know, and kafka-python 3.0
    does not always rebalance when the partitions show up later."""
    for topic in topics:
        _partitions(consumer, topic)
    consumer.subscribe(topics, listener=listener)


def _partitions(consumer: KafkaConsumer, topic: str) -> set[int]:
    """The topic's partitions once the consumer's metadata knows them (within 30 s)."""
    deadline = time.monotonic() + 30
    while not (partitions := consumer.partitions_for_topic(topic)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no partition metadata for {topic} after 30 s")
        time.sleep(0.1)
    return set(partitions)


def _all_led(topics: list[dict[str, Any]]) -> bool:
    return all(
        t["error_code"] == 0
        and t["partitions"]
        and all(p["error_code"] == 0 and p["leader_id"] >= 0 for p in t["partitions"])
        for t in topics
    )


def _trace_context(headers: dict[str, bytes]) -> tuple[tuple[str, str], ...]:
    """The W3C trace context among a message's headers (the others are the retries')."""
    return tuple(
        (name, headers[name].decode()) for name in ("traceparent", "tracestate") if name in headers
    )


def _lag(consumer: KafkaConsumer) -> dict[str, int]:
    """Per topic, the messages of this consumer's partitions it has not consumed (from the
    high-water marks of its last fetches: no request to the brokers)."""
    lags: dict[str, int] = {}
    for partition in consumer.assignment():
        highwater = consumer.highwater(partition)
        if highwater is not None:
            behind = max(0, highwater - consumer.position(partition))
            lags[partition.topic] = lags.get(partition.topic, 0) + behind
    return lags


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)

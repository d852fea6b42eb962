"""Event log interfaces. Deliveries are at least once; handlers must be idempotent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from common.errors import Unavailable
from common.metrics import Metrics
from common.tracing import consuming

log = logging.getLogger(__name__)

TOPIC_MEDIA = "media"
TOPIC_POSTS = "posts"
TOPIC_FOLLOWS = "follows"
TOPIC_ENGAGEMENT = "engagement"  # likes and comments, keyed by post
TOPIC_USERS = "users"  # profile changes, keyed by user
TOPIC_NOTIFICATIONS = "notifications"  # a user's notifications changed, keyed by user
TOPICS = (
    TOPIC_MEDIA,
    TOPIC_POSTS,
    TOPIC_FOLLOWS,
    TOPIC_ENGAGEMENT,
    TOPIC_USERS,
    TOPIC_NOTIFICATIONS,
)
# How long every log keeps an event (Kafka's retention.ms, the SQLite log's trim): longer than
# any consumer stays down, and short enough that an erased account's events do not outlive
# the week (deploy/erasure.py reports them apart).
EVENT_RETENTION_S = 7 * 86_400


@dataclass(frozen=True, slots=True)
class EventRecord:
    topic: str
    # Events with one key are delivered in the order they were published.
    key: str
    value: bytes
    offset: int
    # W3C trace context of the publisher (traceparent, tracestate): its handling joins that
    # trace. Empty while tracing is off.
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[EventRecord], Awaitable[None]]
# (group, topic, events not handled yet): what a subscriber reports every LAG_REPORT_S.
LagReport = Callable[[str, str, int], None]
LAG_REPORT_S = 5.0


class EventPublisher(Protocol):
    async def publish(self, topic: str, key: str, value: bytes) -> None:
        """Returns once the event is durably in the log."""
        ...


class EventSubscriber(Protocol):
    async def run(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        """Feeds every event of `topics` to `handler`, in order, until cancelled.

        A position is committed only after its handler returned. A handler that keeps
        failing does not block the log: after its retries the event is set aside as a
        dead letter and the next one is delivered.
        """
        ...


class EventTail(Protocol):
    async def tail(
        self, topics: Sequence[str], handler: Handler, ready: Callable[[], None]
    ) -> None:
        """Feeds `handler` every event of `topics` published from now on, until cancelled: a
        broadcast, every process that tails sees every event, and nothing is committed.
        `ready()` is called once the starting point is fixed (every event published after
        it will be delivered). A handler that fails is logged and not retried."""
        ...


class EventHandler(Protocol):
    """What a service does with the events it consumes (its `events.py`)."""

    @property
    def group(self) -> str:
        """The consumer group: each consuming service keeps its own position in the log."""
        ...

    @property
    def topics(self) -> Sequence[str]: ...

    async def __call__(self, record: EventRecord) -> None: ...


# How long a consumer waits before retrying an event whose handler found a dependency down.
OUTAGE_RETRY_DELAYS_S = (0.1, 0.25, 0.5, 1.0)


def consumer(
    subscriber: EventSubscriber, handler: EventHandler, metrics: Metrics | None = None
) -> Callable[[], Awaitable[None]]:
    """A background worker that feeds `handler` its topics until cancelled; with `metrics`,
    each event's handling is timed and counted by outcome."""
    handle = waiting_out_outages(handler)
    if metrics is not None:
        handle = _measured(handle, handler.group, metrics)
    return lambda: subscriber.run(handler.group, handler.topics, _traced(handle, handler.group))


def _traced(handler: Handler, group: str) -> Handler:
    async def handle(record: EventRecord) -> None:
        with consuming(record.topic, group, record.headers):
            await handler(record)

    return handle


def _measured(handler: Handler, group: str, metrics: Metrics) -> Handler:
    async def handle(record: EventRecord) -> None:
        started = time.perf_counter()
        outcome = "error"  # retried by the subscriber, or set aside as a dead letter
        try:
            await handler(record)
            outcome = "ok"
        finally:
            metrics.event_handling.labels(group, record.topic).observe(
                time.perf_counter() - started
            )
            metrics.events_handled.labels(group, record.topic, outcome).inc()

    return handle


def waiting_out_outages(handler: Handler) -> Handler:
    """`handler`, retried for as long as it fails because a dependency is down.

    An outage (Redis, another service: `Unavailable`) is not the event's fault: the event
    waits, and the ones behind it, instead of using up its retries and ending as a dead
    letter. A fan-out that could not reach the timelines is done when they are back, not lost.
    """

    async def handle(record: EventRecord) -> None:
        attempt = 0
        while True:
            try:
                await handler(record)
                return
            except Unavailable as exc:
                if attempt == 0:
                    log.warning(
                        "event %s/%s waits for a dependency: %s", record.topic, record.offset, exc
                    )
                await asyncio.sleep(
                    OUTAGE_RETRY_DELAYS_S[min(attempt, len(OUTAGE_RETRY_DELAYS_S) - 1)]
                )
                attempt += 1

    return handle


# How long a tail that failed (the broker down) waits before it starts again.
TAIL_RESTART_DELAY_S = 1.0


async def keep_tailing(
    log_tail: EventTail,
    topics: Sequence[str],
    handler: Handler,
    *,
    ready: Callable[[], None],
    stopped: Callable[[], None],
    what: str,
) -> None:
    """Tails `topics` until cancelled, starting again after a failure. `ready()` is called
    each time the tail starts (every event from then on is delivered), `stopped()` each time
    it fails: what the handler kept up to date may have missed events meanwhile."""
    while True:
        try:
            await log_tail.tail(topics, handler, ready)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s stopped following the event log; starting again", what)
        stopped()
        await asyncio.sleep(TAIL_RESTART_DELAY_S)


async def tail_delivery(record: EventRecord, handler: Handler) -> None:
    """One delivery of a tailed event: a failure is logged, never retried or raised (a tail
    has no position to hold back)."""
    try:
        await handler(record)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("tailed event %s/%s failed", record.topic, record.offset)

"""Events kept in the store while the broker is down, and sent once it is back (production).

A call answers once its event is durable. Normally that is Kafka's acknowledgement; when Kafka
does not acknowledge within `send_timeout_s`, the event is written to the outbox (a Cassandra
table, as durable as the call's own writes) and the call answers: creating a post or a follow
does not depend on Kafka being up. A relay in the same process sends the outbox's events,
oldest first, as soon as Kafka takes them again, and deletes them once acknowledged.

Order: from the first event that goes to the outbox until the relay has emptied it, every new
event goes to the outbox too, behind the others, so events a caller sent one after the other
(a follow, then an unfollow) still arrive in that order. Delivery stays at least once: an
event whose send timed out may still reach Kafka from the producer's buffer as well as from
the outbox, and a relay that crashes between sending and deleting sends again; consumers are
idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from common.events.base import EventPublisher, EventSubscriber, EventTail, Handler
from common.tracing import Headers, continuing, event_headers

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 2.0  # Kafka acknowledges in milliseconds; this long means it is not there
RELAY_RETRY_S = 1.0
RELAY_BATCH = 100


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: uuid.UUID  # a version 1 (time-based) UUID: entries are sent in id order
    topic: str
    key: str
    value: bytes
    # The trace context of the call that published it: the relay sends it in that trace.
    headers: Headers = ()


class OutboxStore(Protocol):
    """Where one process's unsent events wait (tests/contract/test_outbox.py)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def append(self, entry: OutboxEntry) -> None:
        """Returns once the entry is durable."""
        ...

    async def oldest(self, limit: int) -> list[OutboxEntry]:
        """The waiting entries in id order, oldest first."""
        ...

    async def remove_through(self, entry_id: uuid.UUID) -> None:
        """Removes every entry up to and including `entry_id` (they were sent)."""
        ...


class BrokerLog(EventPublisher, EventSubscriber, EventTail, Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...


class OutboxEventLog:
    """An event log (publisher and subscriber) whose publishing survives a broker outage.

    Example:
        events = OutboxEventLog(KafkaEventLog(bootstrap), CassandraOutbox(config, owner="posts"))
        await events.open()            # also starts the relay, which sends what a crash left
        await events.publish("posts", "42", payload)   # answers even while Kafka is down
    """

    def __init__(
        self,
        broker: BrokerLog,
        outbox: OutboxStore,
        *,
        send_timeout_s: float = SEND_TIMEOUT_S,
        relay_retry_s: float = RELAY_RETRY_S,
    ) -> None:
        self._broker = broker
        self._outbox = outbox
        self._send_timeout_s = send_timeout_s
        self._relay_retry_s = relay_retry_s
        # False from the first event kept in the outbox until the relay has emptied it.
        self._direct = True
        self._backlog = asyncio.Event()  # set: the relay has work
        self._appends_started = 0
        self._appends_running = 0
        self._relay: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self._outbox.open()
        await self._broker.open()
        if await self._outbox.oldest(1):  # left by a crash or a stop during an outage
            self._hold_back()
        self._relay = asyncio.create_task(self._relay_forever(), name="outbox-relay")

    async def close(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
        await self._broker.close()
        await self._outbox.close()

    async def publish(self, topic: str, key: str, value: bytes) -> None:
        if self._direct:
            if await self._sent(topic, key, value):
                return
            self._hold_back()
        self._appends_started += 1
        self._appends_running += 1
        try:
            entry = OutboxEntry(uuid.uuid1(), topic, key, value, event_headers())
            await self._outbox.append(entry)
        finally:
            self._appends_running -= 1
        self._backlog.set()

    async def run(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        await self._broker.run(group, topics, handler)

    async def tail(
        self, topics: Sequence[str], handler: Handler, ready: Callable[[], None]
    ) -> None:
        await self._broker.tail(topics, handler, ready)

    @property
    def holding_back(self) -> bool:
        """Whether events are going to the outbox (the broker was down, or still is)."""
        return not self._direct

    def _hold_back(self) -> None:
        if self._direct:
            log.warning("the event broker is not answering: events go to the outbox")
        self._direct = False
        self._backlog.set()

    async def _sent(self, topic: str, key: str, value: bytes) -> bool:
        try:
            await asyncio.wait_for(
                self._broker.publish(topic, key, value), timeout=self._send_timeout_s
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # timeouts and every broker error: the outbox takes it
            log.debug("sending to the broker failed: %r", exc)
            return False
        return True

    async def _relay_forever(self) -> None:
        while True:
            await self._backlog.wait()
            try:
                await self._relay_batch()
            except asyncio.CancelledError:
                raise
            except Exception:  # the outbox's store failed: the entries are still there
                log.exception("relaying the outbox failed; trying again")
                await asyncio.sleep(self._relay_retry_s)

    async def _relay_batch(self) -> None:
        appends_before = self._appends_started
        entries = await self._outbox.oldest(RELAY_BATCH)
        if not entries:
            if self._appends_running or self._appends_started != appends_before:
                await asyncio.sleep(0.01)  # an event is on its way in: it goes out first
                return
            # Empty: publishers may go straight to the broker again.
            self._direct = True
            self._backlog.clear()
            log.warning("the outbox is empty: events go straight to the broker again")
            return
        sent = 0
        for entry in entries:
            with continuing(entry.headers):
                delivered = await self._sent(entry.topic, entry.key, entry.value)
            if not delivered:
                break
            sent += 1
        if sent:
            await self._outbox.remove_through(entries[sent - 1].id)
        if sent < len(entries):
            await asyncio.sleep(self._relay_retry_s)  # the broker is still down

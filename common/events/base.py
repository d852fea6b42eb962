"""Event log interfaces. Deliveries are at least once; handlers must be idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

TOPIC_MEDIA = "media"
TOPIC_POSTS = "posts"
TOPIC_FOLLOWS = "follows"
TOPIC_ENGAGEMENT = "engagement"  # likes and comments, keyed by post
TOPIC_USERS = "users"  # profile changes, keyed by user
TOPICS = (TOPIC_MEDIA, TOPIC_POSTS, TOPIC_FOLLOWS, TOPIC_ENGAGEMENT, TOPIC_USERS)


@dataclass(frozen=True, slots=True)
class EventRecord:
    topic: str
    # Events with one key are delivered in the order they were published.
    key: str
    value: bytes
    offset: int


Handler = Callable[[EventRecord], Awaitable[None]]


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


class EventHandler(Protocol):
    """What a service does with the events it consumes (its `events.py`)."""

    @property
    def group(self) -> str:
        """The consumer group: each consuming service keeps its own position in the log."""
        ...

    @property
    def topics(self) -> Sequence[str]: ...

    async def __call__(self, record: EventRecord) -> None: ...


def consumer(subscriber: EventSubscriber, handler: EventHandler) -> Callable[[], Awaitable[None]]:
    """A background worker that feeds `handler` its topics until cancelled."""
    return lambda: subscriber.run(handler.group, handler.topics, handler)

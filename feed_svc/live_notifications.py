"""The live notifications (ADR 14): one user's entries as they arrive, resumable like the live
home feed.

feed_svc publishes `NotificationsChanged` after it puts an entry at the top of a user's
notifications; every process's tail wakes that user's streams, and each reads the entries
above the position it has delivered. Positions are time-ordered ids minted by whichever
process handled the event, so one can land a little below another already sent: like the
home feed's stream, a stream reads from a floor WINDOW_MS below its newest and its event id
names what it sent above that floor (`live.Delivery`, `live.StreamPositions`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from common.ids import EPOCH_MS, SEQUENCE_BITS, WORKER_BITS, now_ms, timestamp_ms
from feed_svc.live import Delivery, StreamPosition, StreamPositions
from feed_svc.live_feed import TAIL_WAIT_S, Opened, nobody_told, receiving, registered
from feed_svc.models import FeedEntry, FeedKey, Notification
from feed_svc.notifications import Notifications
from feed_svc.streams import StreamHub

# Entries a reconnect sends at most; a client away longer lists its notifications again.
REPLAY_LIMIT = 100


@dataclass(frozen=True, slots=True)
class NotificationMessage:
    """An entry (with the event id to resume from) or a `reset`, and the unread count."""

    unread_count: int
    notification: Notification | None = None
    event_id: str = ""
    reset: bool = False


class LiveNotifications:
    """Opens users' live notifications on this process's hub.

    Example:
        live = LiveNotifications(notifications, hub, StreamPositions(signer))
        async with aclosing(live.stream(user_id, after=last_event_id)) as events:
            async for message in events:
                send(message)
    """

    def __init__(
        self,
        notifications: Notifications,
        hub: StreamHub,
        positions: StreamPositions,
        *,
        tail_wait_s: float = TAIL_WAIT_S,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._notifications = notifications
        self._hub = hub
        self._positions = positions
        self._tail_wait_s = tail_wait_s
        self._clock = clock

    async def stream(
        self, reader_id: int, after: str, opened: Opened = nobody_told
    ) -> AsyncGenerator[NotificationMessage, None]:
        """What the user missed since `after` (an event id; empty: from now on), then each new
        entry as it comes, until the hub ends the stream; `opened()` is awaited once it is
        registered. Raises like LiveHomeFeed.stream."""
        start = self._positions.decode(after, reader_id) if after else None
        await receiving(self._hub, self._tail_wait_s)
        async with registered(self._hub, self._hub.open_notifications(reader_id)) as stream:
            # Registered first: a change from now on wakes the stream, and the first read
            # below sees every entry written before it.
            await opened()
            delivery = Delivery(start or self._now())
            while True:
                position = delivery.position
                assert position is not None  # it starts from one
                floor = _position_of(position.floor)
                page = await self._notifications.above(reader_id, floor, REPLAY_LIMIT)
                if page is None:
                    delivery = Delivery(self._now())
                    unread = (await self._notifications.page(reader_id, 1, "")).unread_count
                    yield NotificationMessage(unread, reset=True)
                else:
                    for notification in reversed(page.notifications):  # oldest first
                        if delivery.admit(_entry(notification)):
                            position = delivery.position
                            assert position is not None
                            yield NotificationMessage(
                                page.unread_count,
                                notification,
                                self._positions.encode(reader_id, position),
                            )
                if await stream.next() is None:
                    return

    def _now(self) -> StreamPosition:
        """The position of this moment: entries from now on are new."""
        now = self._clock()
        key: FeedKey = (now, _first_id_at(now))
        return StreamPosition(key, key)


def _first_id_at(ms: int) -> int:
    return (ms - EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS)


def _position_of(floor: FeedKey) -> int:
    """A floor key as a notification position: (ms, 0), a moment, is the first id minted
    then."""
    ms, position = floor
    return position or _first_id_at(ms)


def _entry(notification: Notification) -> FeedEntry:
    """An entry's place in the stream, as a feed entry: its position is a time-ordered id."""
    position = notification.group.position
    return FeedEntry(timestamp_ms(position), position, 0)

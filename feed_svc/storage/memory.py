"""Timelines in the process's memory, the embedded default; rebuilt after a restart."""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from feed_svc.models import FeedEntry, FeedKey, TimelinePage


@dataclass
class _Timeline:
    keys: list[FeedKey] = field(default_factory=list)  # ascending
    entries: dict[FeedKey, FeedEntry] = field(default_factory=dict)
    floor: FeedKey | None = None
    ready: bool = False

    def add(self, entry: FeedEntry, max_len: int) -> None:
        key = entry.key
        if key in self.entries or (self.floor is not None and key < self.floor):
            return
        bisect.insort(self.keys, key)
        self.entries[key] = entry
        if len(self.keys) > max_len:
            for dropped in self.keys[: len(self.keys) - max_len]:
                del self.entries[dropped]
            del self.keys[: len(self.keys) - max_len]
            self.floor = self.keys[0]


class InMemoryTimelineStore:
    """Timelines of the most recently active readers, least recently used evicted first.

    Example:
        store = InMemoryTimelineStore(max_len=800, max_timelines=100_000)
    """

    def __init__(self, *, max_len: int, max_timelines: int) -> None:
        self._max_len = max_len
        self._max_timelines = max_timelines
        self._timelines: OrderedDict[int, _Timeline] = OrderedDict()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._timelines.clear()

    async def is_ready(self, owner_id: int) -> bool:
        timeline = self._timelines.get(owner_id)
        return timeline is not None and timeline.ready

    async def begin(self, owner_id: int) -> None:
        if owner_id not in self._timelines:
            self._timelines[owner_id] = _Timeline()
            while len(self._timelines) > self._max_timelines:
                self._timelines.popitem(last=False)

    async def complete(
        self, owner_id: int, entries: Sequence[FeedEntry], floor: FeedKey | None
    ) -> None:
        timeline = self._timelines.get(owner_id)
        if timeline is None:
            return
        if floor is not None and (timeline.floor is None or floor > timeline.floor):
            timeline.floor = floor
        for entry in entries:
            timeline.add(entry, self._max_len)
        timeline.ready = True

    async def page(self, owner_id: int, before: FeedKey | None, limit: int) -> TimelinePage | None:
        timeline = self._timelines.get(owner_id)
        if timeline is None or not timeline.ready:
            return None
        self._timelines.move_to_end(owner_id)
        end = len(timeline.keys) if before is None else bisect.bisect_left(timeline.keys, before)
        keys = timeline.keys[max(0, end - limit) : end]
        return TimelinePage([timeline.entries[k] for k in reversed(keys)], timeline.floor)

    async def push(self, owner_ids: Sequence[int], entry: FeedEntry) -> None:
        for owner_id in owner_ids:
            timeline = self._timelines.get(owner_id)
            if timeline is not None:
                timeline.add(entry, self._max_len)

    async def holding(self, owner_ids: Sequence[int], entry: FeedEntry) -> list[bool]:
        found = []
        for owner_id in owner_ids:
            timeline = self._timelines.get(owner_id)
            found.append(timeline is not None and entry.key in timeline.entries)
        return found

    async def add(self, owner_id: int, entries: Sequence[FeedEntry]) -> None:
        timeline = self._timelines.get(owner_id)
        if timeline is not None:
            for entry in entries:
                timeline.add(entry, self._max_len)

    async def remove(self, owner_ids: Sequence[int], entry: FeedEntry) -> None:
        for owner_id in owner_ids:
            timeline = self._timelines.get(owner_id)
            if timeline is not None and timeline.entries.pop(entry.key, None) is not None:
                timeline.keys.pop(bisect.bisect_left(timeline.keys, entry.key))

    async def drop(self, owner_id: int) -> None:
        self._timelines.pop(owner_id, None)

    async def remove_author(self, owner_id: int, author_id: int) -> None:
        timeline = self._timelines.get(owner_id)
        if timeline is None:
            return
        gone = [k for k, e in timeline.entries.items() if e.author_id == author_id]
        for key in gone:
            del timeline.entries[key]
            timeline.keys.pop(bisect.bisect_left(timeline.keys, key))

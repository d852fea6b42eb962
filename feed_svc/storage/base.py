"""The timeline store interface; every backend passes tests/contract/test_timeline_store.py.

A timeline is a cache of one reader's newest feed entries. It is either absent, being
built (it takes pushes but is not read), or ready. Entries below its floor were trimmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from feed_svc.models import FeedEntry, FeedKey, TimelinePage


class TimelineStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def is_ready(self, owner_id: int) -> bool: ...

    async def begin(self, owner_id: int) -> None:
        """Creates an empty timeline that takes pushes while it is being built."""
        ...

    async def complete(
        self, owner_id: int, entries: Sequence[FeedEntry], floor: FeedKey | None
    ) -> None:
        """Adds the entries a rebuild found and makes the timeline ready."""
        ...

    async def page(self, owner_id: int, before: FeedKey | None, limit: int) -> TimelinePage | None:
        """Entries strictly older than `before`, newest first; None if not ready."""
        ...

    async def push(self, owner_ids: Sequence[int], entry: FeedEntry) -> None:
        """Adds one entry to every existing timeline among `owner_ids` (idempotent), trimming
        each to the maximum length. Absent timelines are skipped: they are rebuilt on read."""
        ...

    async def add(self, owner_id: int, entries: Sequence[FeedEntry]) -> None:
        """Backfill: adds entries to one existing timeline."""
        ...

    async def remove_author(self, owner_id: int, author_id: int) -> None: ...


class PostCache(Protocol):
    """Published posts by id, for hydration; losing one loses nothing. A published post only
    changes when renditions are added to its media, and then it is refreshed."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get_posts(self, post_ids: Sequence[int]) -> dict[int, bytes]: ...

    async def put_posts(self, posts: dict[int, bytes]) -> None:
        """Fills the cache; an entry already there wins (it may be newer than this read)."""
        ...

    async def refresh_posts(self, posts: dict[int, bytes]) -> None:
        """Overwrites entries with posts read after they changed."""
        ...

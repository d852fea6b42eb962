"""feed_svc's storage interfaces; every backend passes the contract tests
(tests/contract/test_timeline_store.py, test_pulled_authors.py, test_post_cache.py,
test_notification_store.py).

A timeline is a cache of one reader's newest feed entries. It is either absent, being
built (it takes pushes but is not read), or ready. Entries below its floor were trimmed.
Notifications are not a cache: they are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from feed_svc.models import FeedEntry, FeedKey, NotificationGroup, PulledAuthor, TimelinePage


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

    async def holding(self, owner_ids: Sequence[int], entry: FeedEntry) -> list[bool]:
        """Whether each owner's timeline holds the entry, in order (for benches that watch
        fan-out arrive without loading the read path)."""
        ...

    async def remove_author(self, owner_id: int, author_id: int) -> None: ...

    async def drop(self, owner_id: int) -> None:
        """The reader's timeline goes (their account is erased); idempotent."""
        ...

    async def remove(self, owner_ids: Sequence[int], entry: FeedEntry) -> None:
        """Takes one entry out of every timeline among `owner_ids` that has it (a deleted
        post); idempotent."""
        ...


class PulledAuthorStore(Protocol):
    """The authors fan-out stopped pushing (feed_svc/fanout.py). Kept beside the timelines and
    never expired: a timeline built while an author was pulled lacks their posts, so the two
    may only be lost together."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, author_ids: Sequence[int]) -> dict[int, PulledAuthor]:
        """The pulled ones among `author_ids`."""
        ...

    async def put(self, author_id: int, pulled: PulledAuthor) -> None: ...

    async def remove(self, author_id: int) -> None:
        """The author is pushed again (or erased); idempotent."""
        ...


class PostCache(Protocol):
    """Published posts by id, for hydration; losing one loses nothing. A published post only
    changes when renditions are added to its media, and then it is refreshed."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get_posts(self, post_ids: Sequence[int]) -> dict[int, bytes]: ...

    async def drop_posts(self, post_ids: Sequence[int]) -> None:
        """Forgets the posts (deleted ones)."""
        ...

    async def put_posts(self, posts: dict[int, bytes]) -> None:
        """Fills the cache; an entry already there wins (it may be newer than this read)."""
        ...

    async def refresh_posts(self, posts: dict[int, bytes]) -> None:
        """Overwrites entries with posts read after they changed."""
        ...


class NotificationStore(Protocol):
    """Each user's notification entries (groups), ordered by position, the actors of each,
    and how far the user has read. Every write is idempotent; the domain orders them so that
    a crash between two is finished by the redelivered event (see feed_svc/notifications.py).
    """

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def group(self, recipient_id: int, key: str) -> NotificationGroup | None: ...

    async def save_group(
        self, recipient_id: int, group: NotificationGroup, replaces: int | None
    ) -> None:
        """Writes the group at its position; `replaces` is the position it had before (its
        place in the order there is removed)."""
        ...

    async def delete_group(self, recipient_id: int, group: NotificationGroup) -> None:
        """Deletes the group with its actors."""
        ...

    async def groups_about_post(self, recipient_id: int, post_id: int) -> list[NotificationGroup]:
        """The recipient's groups about one post (its likes, each of its comments)."""
        ...

    async def has_actor(self, recipient_id: int, key: str, actor_id: int) -> bool: ...

    async def add_actor(self, recipient_id: int, key: str, actor_id: int) -> None: ...

    async def remove_actor(self, recipient_id: int, key: str, actor_id: int) -> None: ...

    async def groups_with_actor(self, actor_id: int, limit: int) -> list[tuple[int, str]]:
        """(recipient, group key) of up to `limit` groups the user is an actor of, for an
        erasure."""
        ...

    async def erase_recipient(self, recipient_id: int) -> None:
        """Every group, actor and the read mark of the user's notifications go. Idempotent."""
        ...

    async def page(
        self, recipient_id: int, before: int | None, limit: int
    ) -> list[NotificationGroup]:
        """Groups strictly below position `before`, highest position first."""
        ...

    async def count_above(self, recipient_id: int, position: int, cap: int) -> int:
        """How many groups are above `position`, counting no further than `cap`."""
        ...

    async def read_up_to(self, recipient_id: int) -> int:
        """The position up to which the user has read; 0 before anything is read."""
        ...

    async def mark_read(self, recipient_id: int, position: int) -> None:
        """Moves the read mark up to `position`; never down."""
        ...

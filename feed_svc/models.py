"""Feed entries, pages and the ports the feed needs from the graph and the posts."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Protocol

from photoshare.post.v1.post_service_pb2 import Post

# Feeds are ordered by (published_at_ms, post_id), newest first; a cursor is such a key.
FeedKey = tuple[int, int]


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """What a timeline holds for one post: enough to order and filter it, not to show it."""

    published_at_ms: int
    post_id: int
    author_id: int

    @property
    def key(self) -> FeedKey:
        return (self.published_at_ms, self.post_id)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry on its way into a page; `post` is set when its source already had it."""

    entry: FeedEntry
    post: Post | None = None


@dataclass(frozen=True, slots=True)
class TimelinePage:
    entries: list[FeedEntry]  # newest first
    # The timeline holds every post at or above this key; older ones must be pulled.
    floor: FeedKey | None


@dataclass(frozen=True, slots=True)
class Followee:
    user_id: int
    follower_count: int


@dataclass(frozen=True, slots=True)
class Engagement:
    """A post's counts and whether the reader liked it: never cached, read per page."""

    likes: int = 0
    comments: int = 0
    liked_by_reader: bool = False


@dataclass(frozen=True, slots=True)
class FeedPage:
    posts: list[Post]
    next_cursor: str | None


class FollowGraph(Protocol):
    async def follower_count(self, user_id: int) -> int: ...

    def follower_id_chunks(
        self, user_id: int, chunk_size: int
    ) -> AsyncGenerator[list[int], None]: ...

    async def followees(self, user_id: int) -> list[Followee]: ...

    async def followed_celebrities(self, user_id: int, min_follower_count: int) -> list[int]: ...

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> set[int]: ...


class PostSource(Protocol):
    async def get_many(self, post_ids: Sequence[int]) -> dict[int, Post]:
        """Published posts by id; unknown or unpublished ids are left out."""
        ...

    def recent(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> AsyncGenerator[list[Candidate], None]:
        """Published posts of the authors strictly older than `before`, newest first."""
        ...

    async def engagement(self, post_ids: Sequence[int], reader_id: int) -> dict[int, Engagement]:
        """Counts and the reader's likes, current, for every post asked for."""
        ...

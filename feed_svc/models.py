"""Feed entries, pages, notifications, and the ports the feeds need from the graph and the
posts."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Protocol

from photoshare.graph.v1.user_summary_pb2 import UserSummary
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
class PulledAuthor:
    """An author whose posts fan-out stopped pushing: reads pull them from their author
    timeline. `since` is the first post not pushed. `leaving`: fan-out is pushing them again
    and backfilling the posts since `since`; reads keep pulling them until it is done."""

    since: FeedKey
    leaving: bool = False


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
    # Its author deleted it: left out of every page while its copies are being removed.
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Hydration:
    """What a page's posts show that changes after they are published, so is read per page
    and never cached with them: counts and the reader's likes by post, authors by id."""

    engagement: dict[int, Engagement]
    authors: dict[int, UserSummary]

    def missing(self, posts: Sequence[Post]) -> tuple[list[int], list[int]]:
        """(post ids, author ids) of `posts` this hydration has nothing for."""
        post_ids = [p.id for p in posts if p.id not in self.engagement]
        author_ids = list({p.author_id for p in posts} - self.authors.keys())
        return post_ids, author_ids

    def deleted(self, post_id: int) -> bool:
        engagement = self.engagement.get(post_id)
        return engagement is not None and engagement.deleted

    def hidden(self, post: Post) -> bool:
        """Deleted since it was pushed or cached, or by an author whose account is being
        erased (who has no summary any more)."""
        return self.deleted(post.id) or post.author_id not in self.authors

    def __or__(self, other: Hydration) -> Hydration:
        return Hydration(self.engagement | other.engagement, self.authors | other.authors)


@dataclass(frozen=True, slots=True)
class FeedPage:
    posts: list[Post]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ReaderFollows:
    """What a feed read asks of the graph: which candidates the reader follows, and whom they
    follow with at least a number of followers (the authors who may be pulled)."""

    followed: set[int]
    # The followees with at least the asked number of followers: those who may be pulled.
    pull_candidates: list[int]


class FollowGraph(Protocol):
    async def follower_count(self, user_id: int) -> int: ...

    def follower_id_chunks(
        self, user_id: int, chunk_size: int
    ) -> AsyncGenerator[list[int], None]: ...

    async def followees(self, user_id: int) -> list[Followee]: ...

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> set[int]: ...

    async def reader_follows(
        self, user_id: int, candidate_ids: Sequence[int], min_follower_count: int
    ) -> ReaderFollows:
        """`filter_followed` and the followees with at least `min_follower_count` followers:
        one round trip."""
        ...

    async def summaries(self, user_ids: Sequence[int]) -> dict[int, UserSummary]:
        """Summaries of the known users among `user_ids`: one round trip."""
        ...


class PostSource(Protocol):
    async def get_many(self, post_ids: Sequence[int]) -> dict[int, Post]:
        """Published posts by id; unknown or unpublished ids are left out."""
        ...

    def recent(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> AsyncGenerator[list[Candidate], None]:
        """Published posts of the authors strictly older than `before`, newest first."""
        ...

    async def hydrate(
        self, post_ids: Sequence[int], author_ids: Sequence[int], reader_id: int
    ) -> Hydration:
        """Counts and the reader's likes, current, for every post asked for, and the summaries
        of the known authors asked for: one round trip."""
        ...


class NotificationEvents(Protocol):
    async def changed(self, recipient_id: int) -> None:
        """The user has a new entry at the top of their notifications."""
        ...


class NotificationKind(enum.Enum):
    FOLLOW = "FOLLOW"
    LIKE = "LIKE"
    COMMENT = "COMMENT"


@dataclass(frozen=True, slots=True)
class NotificationGroup:
    """One entry of a user's notifications: everyone who did the same thing to the same
    subject (liked one post), or one follow, or one comment.

    `position` orders a user's entries, newest first; it is a fresh time-ordered id each time
    an actor is added, so the entry moves to the top. `applied` holds the ids of the latest
    events applied to it, so an event redelivered after a crash is not applied twice.
    """

    key: str  # "like:<post>", "follow:<follower>", "comment:<comment>"
    kind: NotificationKind
    position: int
    updated_at_ms: int
    actor_count: int
    recent_actor_ids: tuple[int, ...]  # newest first
    applied: tuple[str, ...]  # newest last
    post_id: int = 0
    comment_id: int = 0
    comment_text: str = ""


@dataclass(frozen=True, slots=True)
class Notification:
    group: NotificationGroup
    actors: list[UserSummary]  # newest first
    read: bool
    post: Post | None = None  # the liked or commented post, when it is published


@dataclass(frozen=True, slots=True)
class NotificationPage:
    notifications: list[Notification]
    unread_count: int
    next_page_token: str | None

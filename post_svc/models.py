"""Posts as the domain sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from photoshare.media.v1 import media_pb2

# A position in time order: (published_at_ms, post_id); feeds sort by it, newest first.
FeedKey = tuple[int, int]


class PostState(enum.Enum):
    PENDING_MEDIA = "PENDING_MEDIA"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    DELETED = "DELETED"  # kept as a tombstone: a late event for the post cannot revive it


@dataclass(frozen=True, slots=True)
class Post:
    id: int
    author_id: int
    caption: str
    created_at_ms: int
    state: PostState = PostState.PENDING_MEDIA
    failure_reason: str | None = None
    # The processed photo; a protobuf value object that the store keeps as bytes.
    media: media_pb2.Media | None = None
    published_at_ms: int | None = None
    edited_at_ms: int | None = None  # when the caption was last changed

    @property
    def feed_key(self) -> FeedKey:
        if self.published_at_ms is None:
            raise ValueError(f"post {self.id} is not published")
        return (self.published_at_ms, self.id)


@dataclass(frozen=True, slots=True)
class MediaSpec:
    """What the client says it will upload."""

    type: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class UploadTarget:
    url: str
    method: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class PostPage:
    posts: list[Post]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Like:
    post_id: int
    user_id: int
    liked_at_ms: int

    @property
    def sort_key(self) -> tuple[int, int]:
        """Likers are listed newest first by (liked_at_ms, user_id)."""
        return (self.liked_at_ms, self.user_id)


@dataclass(frozen=True, slots=True)
class Comment:
    id: int  # time-ordered: comments are listed oldest first by id
    post_id: int
    author_id: int
    text: str
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class PostStats:
    likes: int = 0
    comments: int = 0
    # The post was deleted: read with its counts, so a page drops it at no extra cost.
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Applied:
    """The counts after an event, and whether this call was the one that counted it."""

    stats: PostStats
    first_time: bool


@dataclass(frozen=True, slots=True)
class LikePage:
    likes: list[Like]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class CommentPage:
    comments: list[Comment]
    next_page_token: str | None

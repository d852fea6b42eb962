"""post_svc's storage interfaces; every backend passes the contract tests
(tests/contract/test_post_store.py, test_engagement_store.py, test_stats_store.py,
test_author_cache.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from photoshare.media.v1 import media_pb2

from post_svc.models import Applied, Comment, FeedKey, Like, Post, PostStats


class PostStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def insert(self, post: Post) -> None:
        """Inserting the same post id again (a retry) changes nothing."""
        ...

    async def remember_request(
        self, author_id: int, request_id: str, post_id: int, fingerprint: str
    ) -> tuple[int, str]:
        """Records (post id, fingerprint of the request) under the author's request id for
        REQUEST_TTL_S unless one is recorded; returns the recorded pair."""
        ...

    async def get_many(self, ids: Sequence[int]) -> dict[int, Post]: ...

    async def mark_published(
        self, post_id: int, media: media_pb2.Media, published_at_ms: int
    ) -> Post | None:
        """PENDING_MEDIA -> PUBLISHED. Returns the post as it now is (a post already
        published keeps its first publish time); None for an unknown post."""
        ...

    async def update_media(self, post_id: int, media: media_pb2.Media) -> Post | None:
        """Replaces a published post's media (renditions were added); None when the post
        is not published."""
        ...

    async def update_caption(self, post_id: int, caption: str, edited_at_ms: int) -> Post | None:
        """Replaces the caption and sets `edited_at_ms`, in any state; None if there is no
        such post."""
        ...

    async def mark_deleted(self, post_id: int) -> Post | None:
        """Any state -> DELETED, and out of the author's grid; the row stays as a tombstone,
        so that no later publish, edit or renditions bring it back. Idempotent. Returns the
        post as it now is; None for an unknown post."""
        ...

    async def of_author(self, author_id: int, limit: int) -> list[Post]:
        """Up to `limit` of the author's posts in any state, deleted ones too, oldest first:
        what an erasure deletes and then forgets."""
        ...

    async def forget(self, post_id: int) -> None:
        """A DELETED post of an erased account keeps only an anonymous tombstone (its id and
        state): no author, caption or media, and out of the author's index. Other states are
        left alone. Idempotent."""
        ...

    async def forget_requests(self, author_id: int) -> None:
        """The author's remembered creating requests go (their account is erased)."""
        ...

    async def mark_failed(self, post_id: int, reason: str) -> Post | None:
        """PENDING_MEDIA -> FAILED; other states are left alone."""
        ...

    async def published_by_authors(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> list[Post]:
        """Published posts of these authors strictly older than `before`, newest first."""
        ...


class EngagementStore(Protocol):
    """Likes and comments: the truth that counts are derived from."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add_like(self, post_id: int, user_id: int, at_ms: int) -> Like:
        """Adds the like unless the user's like exists; returns the stored one either way
        (concurrent calls agree on one like and its time)."""
        ...

    async def get_like(self, post_id: int, user_id: int) -> Like | None:
        """A point lookup: its cost does not grow with the post's likes."""
        ...

    async def liked_among(self, user_id: int, post_ids: Sequence[int]) -> set[int]:
        """The posts among `post_ids` that the user likes (point lookups, one round trip)."""
        ...

    async def remove_like(self, like: Like) -> None:
        """Removes exactly that like (idempotent)."""
        ...

    async def likes(self, post_id: int, before: tuple[int, int] | None, limit: int) -> list[Like]:
        """Likes newest first, strictly older than `before` (liked_at_ms, user_id)."""
        ...

    async def add_comment(self, comment: Comment) -> None:
        """Stores the comment (idempotent: the same id again changes nothing)."""
        ...

    async def get_comment(self, post_id: int, comment_id: int) -> Comment | None: ...

    async def comments(self, post_id: int, after_id: int, limit: int) -> list[Comment]:
        """Comments with ids above `after_id`, oldest first."""
        ...

    async def delete_comment(self, post_id: int, comment_id: int) -> None:
        """Idempotent."""
        ...

    async def likes_of_user(self, user_id: int, limit: int) -> list[Like]:
        """Up to `limit` of the user's likes, on any posts (an erasure removes them all)."""
        ...

    async def comments_of_author(self, author_id: int, limit: int) -> list[Comment]:
        """Up to `limit` of the author's comments, on any posts."""
        ...

    async def delete_post(self, post_id: int) -> None:
        """Every like and comment of a deleted post goes. Idempotent."""
        ...


class StatsStore(Protocol):
    """Like and comment counts per post, readable for a page in one round trip. Every change
    is an event with an id; applying the same event again changes nothing."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def apply(
        self, post_id: int, event_id: str, *, likes: int = 0, comments: int = 0
    ) -> Applied:
        """Adds the deltas unless `event_id` was applied to this post already; returns the
        counts after, and whether it was this call that applied it."""
        ...

    async def get_many(self, post_ids: Sequence[int]) -> dict[int, PostStats]:
        """Counts of every post asked for (zero for posts nothing happened to)."""
        ...

    async def mark_deleted(self, post_id: int) -> None:
        """From now on the post's counts say it was deleted (idempotent)."""
        ...


ANONYMOUS = 0  # the author of a forgotten tombstone
REQUEST_TTL_S = 24 * 3600  # how long a creating request's id answers a retry

# A cached author summary lives this long unless a ProfileUpdated event drops it sooner.
AUTHOR_TTL_S = 3600
# After a profile change, fills are refused this long: they may have read the old profile.
AUTHOR_DIRTY_S = 5.0


class AuthorCache(Protocol):
    """Serialized author summaries by user id. Losing an entry loses nothing."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get_many(self, user_ids: Sequence[int]) -> dict[int, bytes]:
        """The cached ones among `user_ids`."""
        ...

    async def fill(self, summaries: Mapping[int, bytes]) -> None:
        """Caches them for AUTHOR_TTL_S, except users invalidated within AUTHOR_DIRTY_S."""
        ...

    async def invalidate(self, user_id: int) -> None:
        """Forgets the user's summary and refuses fills of it for AUTHOR_DIRTY_S."""
        ...


# Whether a user likes a post, once read from the store, is kept this long (or until a like
# or unlike of theirs drops it); after a change, the user's fills are refused this long.
LIKED_TTL_S = 3600
LIKED_DIRTY_S = 5.0


class LikedCache(Protocol):
    """Per user, whether they like each post they were shown (the feed asks it for every post
    of every page). Losing an entry loses nothing: the engagement store answers again."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, user_id: int, post_ids: Sequence[int]) -> dict[int, bool]:
        """The cached answers among `post_ids`."""
        ...

    async def fill(self, user_id: int, answers: Mapping[int, bool]) -> None:
        """Caches answers read from the store for LIKED_TTL_S, unless the user liked or
        unliked anything within LIKED_DIRTY_S (the read may have missed it)."""
        ...

    async def changed(self, user_id: int, post_id: int) -> None:
        """The user liked or unliked the post: forgets the answer and refuses the user's
        fills for LIKED_DIRTY_S."""
        ...

    async def forget(self, user_id: int) -> None:
        """Everything about the user goes (their account is erased); idempotent."""
        ...

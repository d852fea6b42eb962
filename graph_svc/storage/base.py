"""graph_svc's storage interfaces; every backend passes the contract tests
(tests/contract/test_graph_store.py, test_following_cache.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from photoshare.media.v1 import media_pb2

from graph_svc.models import Edge, Erasure, Followee, Session, Signup, User

SIGNUP_TTL_S = 24 * 3600  # how long a sign-up's request id answers a retry
FOLLOWING_TTL_S = 3600  # a cached following set lives this long without a change
DIRTY_S = 5.0  # after a change, fills are refused this long: they may have read the old set
# Who among the followees is a celebrity changes only when their follower counts cross the
# threshold; a reader's list may be this stale (their own follows invalidate it at once).
CELEBRITIES_TTL_S = 30


class SessionStore(Protocol):
    """Sessions (one per token) and password hashes."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add_session(self, session: Session) -> None:
        """Idempotent: adding the same session again changes nothing."""
        ...

    async def session_for_token(self, token_hash: bytes) -> Session | None: ...

    async def touch_session(self, session: Session, at_ms: int) -> None:
        """Records a use of the session (its last use only ever moves forward)."""
        ...

    async def sessions_of(self, user_id: int) -> list[Session]:
        """The user's sessions, newest first."""
        ...

    async def remove_sessions(self, user_id: int, session_ids: Sequence[int]) -> None:
        """Their tokens stop resolving; idempotent."""
        ...

    async def password_hash(self, user_id: int) -> str | None: ...

    async def set_password_hash(self, user_id: int, password_hash: str) -> None: ...

    async def delete_password(self, user_id: int) -> None: ...


class GraphStore(Protocol):
    async def open(self) -> None:
        """Connects and creates or migrates the schema; safe to run on every start."""
        ...

    async def create_user(self, user: User) -> None:
        """Raises AlreadyExists when the username is taken by another user id; creating the
        same user again (same id) completes what a crash may have cut short."""
        ...

    async def remember_follow_request(
        self, follower_id: int, request_id: str, followed_id: int
    ) -> int:
        """Remembers for 24 h which user the follower's request `request_id` followed and
        returns the user remembered under it (this one unless the id was used before)."""
        ...

    async def remember_signup(self, request_id: str, signup: Signup) -> Signup:
        """Records the sign-up under its request id for SIGNUP_TTL_S, unless one is recorded
        there already; returns the recorded one (this one or the earlier)."""
        ...

    async def get_users(self, ids: Sequence[int]) -> dict[int, User]:
        """Users with their counters; unknown and erased ids are left out."""
        ...

    async def get_user_by_username(self, username: str) -> User | None:
        """None also for an erased user (whose name stays taken until it is released)."""
        ...

    async def mark_erased(self, user_id: int, at_ms: int) -> None:
        """The user is gone from every read from now on; idempotent."""
        ...

    async def erase_account_rows(self, user_id: int) -> None:
        """Deletes the user's profile, avatar, counters and remembered requests (not the user
        row, which holds the username until it is released); idempotent."""
        ...

    async def release_user(self, user_id: int, username: str) -> None:
        """Deletes the user row and frees the username; idempotent."""
        ...

    async def start_erasure(self, erasure: Erasure) -> Erasure:
        """Records the erasure unless one is recorded for the user; returns the recorded one."""
        ...

    async def erasures(self) -> list[Erasure]:
        """Every erasure not finished, oldest first."""
        ...

    async def save_erasure(self, erasure: Erasure) -> None:
        """Records the step an erasure reached."""
        ...

    async def finish_erasure(self, user_id: int) -> None:
        """Forgets a finished erasure (it held the user's id and name)."""
        ...

    async def update_profile(self, user_id: int, changes: Mapping[str, str]) -> None:
        """Sets the profile fields in `changes` (display_name, bio); leaves the others."""
        ...

    async def set_avatar(self, user_id: int, upload_id: int, avatar: media_pb2.Media) -> None:
        """Makes it the user's avatar unless a later upload (a higher id) already is, and
        clears a failure of an earlier upload. Idempotent."""
        ...

    async def fail_avatar(self, user_id: int, upload_id: int, reason: str) -> None:
        """Records why the upload could not be used, unless a later upload already succeeded
        or failed. The avatar stays. Idempotent."""
        ...

    async def add_follow(self, follower_id: int, followed_id: int, at_ms: int) -> bool:
        """True when the edge is new; counters move only then."""
        ...

    async def remove_follow(self, follower_id: int, followed_id: int) -> bool: ...

    async def followers(
        self, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]:
        """Followers, newest follow first, strictly older than `before` (time, id)."""
        ...

    async def following(
        self, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]: ...

    async def follower_ids(self, user_id: int, after_id: int, limit: int) -> list[int]:
        """Follower ids above `after_id`, ascending: a stable scan for fan-out."""
        ...

    async def followed_ids(self, user_id: int, after_id: int, limit: int) -> list[int]:
        """Followed user ids above `after_id`, ascending."""
        ...

    async def followees(self, user_id: int, after_id: int, limit: int) -> list[Followee]:
        """Followed users above `after_id` with their follower counts, ascending."""
        ...

    async def followed_with_min_followers(self, user_id: int, min_count: int) -> list[int]: ...

    async def record_post(self, author_id: int, post_id: int) -> None:
        """Counts a published post once, however often it is recorded."""
        ...

    async def unrecord_post(self, author_id: int, post_id: int, *, uncount: bool = True) -> None:
        """Takes a counted post back out of the author's count, once; without `uncount`
        (an erased author, whose counts are deleted) it is only forgotten."""
        ...

    async def close(self) -> None: ...


class FollowingCache(Protocol):
    """Each user's following set and the celebrities among their followees, for the feed's
    per-page FilterFollowed and per-read celebrity pull. Losing an entry loses nothing."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def followed_among(self, user_id: int, candidate_ids: Sequence[int]) -> set[int] | None:
        """The followed ones among the candidates, or None when the set is not cached."""
        ...

    async def fill(self, user_id: int, followed_ids: Sequence[int]) -> None:
        """Caches the whole following set, unless it changed within DIRTY_S (then the set
        just read may predate the change)."""
        ...

    async def celebrities(self, user_id: int, min_follower_count: int) -> list[int] | None: ...

    async def put_celebrities(
        self, user_id: int, min_follower_count: int, celebrity_ids: Sequence[int]
    ) -> None:
        """Caches the answer for CELEBRITIES_TTL_S."""
        ...

    async def invalidate(self, user_id: int) -> None:
        """Forgets the user's entries and refuses fills for DIRTY_S."""
        ...

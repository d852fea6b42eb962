"""The graph store interface; every backend passes tests/contract/test_graph_store.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from graph_svc.models import Edge, Followee, User


class GraphStore(Protocol):
    async def open(self) -> None:
        """Connects and creates or migrates the schema; safe to run on every start."""
        ...

    async def create_user(self, user: User, token_hash: bytes) -> None:
        """Raises AlreadyExists when the username is taken."""
        ...

    async def user_id_for_token(self, token_hash: bytes) -> int | None: ...

    async def get_users(self, ids: Sequence[int]) -> dict[int, User]:
        """Users with their counters; unknown ids are left out."""
        ...

    async def get_user_by_username(self, username: str) -> User | None: ...

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

    async def followees(self, user_id: int, after_id: int, limit: int) -> list[Followee]:
        """Followed users above `after_id` with their follower counts, ascending."""
        ...

    async def followed_with_min_followers(self, user_id: int, min_count: int) -> list[int]: ...

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> set[int]: ...

    async def record_post(self, author_id: int, post_id: int) -> None:
        """Counts a published post once, however often it is recorded."""
        ...

    async def close(self) -> None: ...

"""Users and follow edges as the domain sees them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    created_at_ms: int
    follower_count: int = 0
    following_count: int = 0
    post_count: int = 0
    display_name: str = ""
    bio: str = ""


@dataclass(frozen=True, slots=True)
class Edge:
    """One side of a follow: the other user and when the follow happened."""

    user_id: int
    created_at_ms: int

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.created_at_ms, self.user_id)


@dataclass(frozen=True, slots=True)
class Followee:
    user_id: int
    follower_count: int


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[User]
    next_page_token: str | None

"""Users and follow edges as the domain sees them."""

from __future__ import annotations

from dataclasses import dataclass

from photoshare.media.v1 import media_pb2


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
    # The processed avatar; a protobuf value object that the store keeps as bytes.
    avatar: media_pb2.Media | None = None
    # Why the latest avatar upload could not be used, until a later one succeeds.
    avatar_failure_reason: str | None = None


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


@dataclass(frozen=True, slots=True)
class Signup:
    """A sign-up remembered under its request id, so that a retry gets the same answer."""

    user_id: int
    username: str
    token: str
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in client: one token, known to the stores only by its hash."""

    id: int
    user_id: int
    token_hash: bytes
    label: str
    created_at_ms: int
    last_used_at_ms: int


@dataclass(frozen=True, slots=True)
class Caller:
    """Whom a token stands for: a user, through one of their sessions."""

    user_id: int
    session_id: int


@dataclass(frozen=True, slots=True)
class Erasure:
    """An account being erased: the step it is at (graph_svc/erasure.py), and when its
    username is released."""

    user_id: int
    username: str
    step: str
    requested_at_ms: int
    release_at_ms: int


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """Where and how the client sends an avatar's bytes (the media service's signed URL)."""

    url: str
    method: str
    expires_at_ms: int

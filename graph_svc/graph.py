"""The social graph's rules: who may sign up, what a profile holds, follow whom, and how
lists are paged."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Protocol

from photoshare.media.v1 import media_pb2

from common.errors import (
    InvalidArgument,
    NotFound,
    check_page_size,
    check_request_id,
    idempotency_key_reused,
)
from common.ids import IdGenerator, now_ms
from common.signing import KeysetCursor, Signer
from common.tokens import new_token
from graph_svc.caching import CachedFollowing
from graph_svc.models import Edge, Followee, Signup, UploadTarget, User, UserPage
from graph_svc.sessions import Sessions, check_label, check_password
from graph_svc.storage.base import GraphStore

USERNAME = re.compile(r"[a-z0-9._]{3,30}")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_FILTER_CANDIDATES = 1000
MAX_BATCH_USERS = 500
# Profile fields a user may change, and their longest length in characters.
PROFILE_LIMITS = {"display_name": 64, "bio": 300}


class GraphEvents(Protocol):
    async def follow_changed(self, follower_id: int, followed_id: int, following: bool) -> None:
        """Tells the rest of the mesh (the feed) that an edge appeared or went away."""
        ...

    async def profile_updated(self, user: User) -> None:
        """Tells the rest of the mesh that a user's name, bio or avatar changed."""
        ...


class AvatarUploads(Protocol):
    async def open_avatar_upload(
        self, upload_id: int, user_id: int, content_type: str, size_bytes: int
    ) -> UploadTarget:
        """Asks the media service for a signed upload URL; it validates the type and size."""
        ...


class Graph:
    """Users and follows.

    Example:
        graph = Graph(
            store,
            sessions,
            CachedFollowing(store, cache),
            events,
            media_client,
            ids,
            Signer(secret, ...),
        )
        user, token = await graph.create_user("ada", password="correct horse")
        await graph.follow(user.id, other_id)
    """

    def __init__(
        self,
        store: GraphStore,
        sessions: Sessions,
        following: CachedFollowing,
        events: GraphEvents,
        avatar_uploads: AvatarUploads,
        ids: IdGenerator,
        page_signer: Signer,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._following = following
        self._events = events
        self._avatar_uploads = avatar_uploads
        self._ids = ids
        self._pages = KeysetCursor(page_signer, what="page_token")
        self._clock = clock

    async def create_user(
        self, username: str, request_id: str = "", *, password: str = "", session_label: str = ""
    ) -> tuple[User, str]:
        """A new user and their first token (session), with a password if they chose one.
        With a request id, a retry of the same sign-up (the first answer lost) gets the same
        user and token; the id with another username is refused."""
        if not USERNAME.fullmatch(username):
            raise InvalidArgument(
                "username must be 3-30 characters of a-z, 0-9, '.' and '_'",
                reason="INVALID_USERNAME",
                field="username",
            )
        if password:
            check_password(password)
        check_label(session_label)
        user = User(id=self._ids.next_id(), username=username, created_at_ms=self._clock())
        token = new_token()
        if request_id:
            check_request_id(request_id)
            # Remembered before the user is created: a crash in between is finished by the
            # retry, which creates the remembered user (creating it twice is harmless).
            signup = await self._store.remember_signup(
                request_id, Signup(user.id, username, token, user.created_at_ms)
            )
            if signup.username != username:
                raise idempotency_key_reused("for another sign-up", "sign-up")
            user = User(id=signup.user_id, username=username, created_at_ms=signup.created_at_ms)
            token = signup.token
        await self._store.create_user(user)
        await self._sessions.start(user, token, session_label, password)
        return user, token

    async def get_user(self, user_id: int) -> User:
        found = await self._store.get_users([user_id])
        if user_id not in found:
            raise NotFound(
                f"user {user_id} does not exist",
                reason="USER_NOT_FOUND",
                metadata={"userId": str(user_id)},
            )
        return found[user_id]

    async def get_users(self, user_ids: Sequence[int]) -> list[User]:
        """The known users among `user_ids`, in the order asked, each once."""
        if len(user_ids) > MAX_BATCH_USERS:
            raise InvalidArgument(f"at most {MAX_BATCH_USERS} users per call", field="user_ids")
        found = await self._store.get_users(user_ids)
        return [found[i] for i in dict.fromkeys(user_ids) if i in found]

    async def lookup(self, username: str) -> User:
        if not username:
            raise InvalidArgument("username is required", field="username")
        user = (
            await self._store.get_user_by_username(username)
            if USERNAME.fullmatch(username)
            else None
        )
        if user is None:
            shown = username if len(username) <= 30 else username[:30] + "…"
            raise NotFound(
                f"no user is named {shown!r}",
                reason="USER_NOT_FOUND",
                metadata={"username": shown},
            )
        return user

    async def update_profile(self, user_id: int, changes: Mapping[str, str]) -> User:
        """Sets the named profile fields (white space trimmed); the others stay."""
        unknown = sorted(set(changes) - set(PROFILE_LIMITS))
        if unknown:
            raise InvalidArgument(
                f"update_mask names {', '.join(unknown)}; only "
                f"{', '.join(PROFILE_LIMITS)} can be changed",
                reason="UNKNOWN_MASK_PATH",
                field="update_mask",
            )
        if not changes:
            raise InvalidArgument(
                "nothing to change: name display_name or bio in update_mask",
                reason="EMPTY_UPDATE",
                field="update_mask",
            )
        cleaned = {name: value.strip() for name, value in changes.items()}
        for name, value in cleaned.items():
            if len(value) > PROFILE_LIMITS[name]:
                raise InvalidArgument(
                    f"{name} is {len(value)} characters; at most {PROFILE_LIMITS[name]}",
                    reason="PROFILE_FIELD_TOO_LONG",
                    field=f"user.{name}",
                )
        await self._store.update_profile(user_id, cleaned)
        user = await self.get_user(user_id)
        await self._events.profile_updated(user)
        return user

    async def create_avatar_upload(
        self, user_id: int, content_type: str, size_bytes: int
    ) -> UploadTarget:
        """An upload slot for a new avatar; the current one stays until it is processed."""
        await self.get_user(user_id)
        return await self._avatar_uploads.open_avatar_upload(
            self._ids.next_id(), user_id, content_type, size_bytes
        )

    async def avatar_processed(self, user_id: int, upload_id: int, avatar: media_pb2.Media) -> None:
        """The upload becomes the avatar, unless a later one already did."""
        await self._store.set_avatar(user_id, upload_id, avatar)
        found = await self._store.get_users([user_id])
        if user_id in found:
            # Announced on every delivery: a redelivery repairs an announcement a crash lost.
            await self._events.profile_updated(found[user_id])

    async def avatar_failed(self, user_id: int, upload_id: int, reason: str) -> None:
        await self._store.fail_avatar(user_id, upload_id, reason)

    async def follow(self, follower_id: int, followed_id: int, request_id: str = "") -> None:
        """Following again is harmless, so a retry needs no request id; one sent is kept for
        24 h so that reusing it for another user is refused, as for every creating call."""
        if followed_id == follower_id:
            raise InvalidArgument(
                "you cannot follow yourself", reason="SELF_FOLLOW", field="followed_id"
            )
        await self.get_user(followed_id)
        if request_id:
            check_request_id(request_id)
            first = await self._store.remember_follow_request(follower_id, request_id, followed_id)
            if first != followed_id:
                raise idempotency_key_reused("to follow someone else", "follow")
        await self._store.add_follow(follower_id, followed_id, self._clock())
        await self._following.changed(follower_id)  # before answering: seen at once
        # Published even when the edge existed: a retried call repairs a lost event.
        await self._events.follow_changed(follower_id, followed_id, True)

    async def unfollow(self, follower_id: int, followed_id: int) -> None:
        if followed_id == follower_id:
            raise InvalidArgument("you cannot unfollow yourself", field="followed_id")
        await self._store.remove_follow(follower_id, followed_id)
        await self._following.changed(follower_id)  # before answering: hidden at once
        await self._events.follow_changed(follower_id, followed_id, False)

    async def followers_page(self, user_id: int, page_size: int, page_token: str) -> UserPage:
        return await self._page(user_id, page_size, page_token, self._store.followers)

    async def following_page(self, user_id: int, page_size: int, page_token: str) -> UserPage:
        return await self._page(user_id, page_size, page_token, self._store.following)

    async def _page(
        self, user_id: int, page_size: int, page_token: str, edges_of: EdgeQuery
    ) -> UserPage:
        size = check_page_size(
            page_size, name="page_size", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
        )
        before = self._pages.decode(page_token, user_id) if page_token else None
        await self.get_user(user_id)
        edges = await edges_of(user_id, before, size + 1)
        more = len(edges) > size
        edges = edges[:size]
        users = await self._store.get_users([e.user_id for e in edges])
        token = self._pages.encode(user_id, edges[-1].sort_key) if more else None
        return UserPage([users[e.user_id] for e in edges if e.user_id in users], token)

    async def follower_id_chunks(self, user_id: int, chunk_size: int) -> AsyncIterator[list[int]]:
        after = 0
        while chunk := await self._store.follower_ids(user_id, after, _chunk(chunk_size)):
            yield chunk
            after = chunk[-1]

    async def followee_chunks(self, user_id: int, chunk_size: int) -> AsyncIterator[list[Followee]]:
        after = 0
        while chunk := await self._store.followees(user_id, after, _chunk(chunk_size)):
            yield chunk
            after = chunk[-1].user_id

    async def followed_celebrities(self, user_id: int, min_follower_count: int) -> list[int]:
        if min_follower_count <= 0:
            raise InvalidArgument("min_follower_count must be positive", field="min_follower_count")
        return await self._following.celebrities(user_id, min_follower_count)

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> list[int]:
        if len(candidate_ids) > MAX_FILTER_CANDIDATES:
            raise InvalidArgument(
                f"at most {MAX_FILTER_CANDIDATES} candidates per call", field="candidate_ids"
            )
        followed = await self._following.filter_followed(user_id, candidate_ids)
        return [c for c in candidate_ids if c in followed]

    async def record_post(self, author_id: int, post_id: int) -> None:
        await self._store.record_post(author_id, post_id)

    async def unrecord_post(self, author_id: int, post_id: int) -> None:
        """A deleted post leaves its author's count (once, however often it is told). An
        erased author's count is not touched: it is deleted, and a counter written after
        that would bring a row of them back."""
        erased = author_id not in await self._store.get_users([author_id])
        await self._store.unrecord_post(author_id, post_id, uncount=not erased)

    async def follow_settled(self, follower_id: int) -> None:
        """A follow or unfollow was announced: its invalidation of the following cache is
        repeated, which matters when the cache was down while the call answered."""
        await self._following.changed_again(follower_id)


class EdgeQuery(Protocol):
    async def __call__(
        self, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]: ...


def _chunk(requested: int) -> int:
    return min(max(requested, 1), 5000) if requested else 1000

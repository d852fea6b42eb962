"""Signing in and out: passwords, sessions (one per token) and resolving a token.

A token is shown once and stored only as its SHA-256. Signing a session out announces it
(`SessionsRevoked`) before the stores forget it, so every gateway drops the token from its
cache even if the call is cut short; a retry repeats both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from common.ids import IdGenerator, now_ms
from common.tokens import hash_token, new_token
from graph_svc.models import Caller, Session, User
from graph_svc.storage.base import GraphStore, SessionStore

MIN_PASSWORD = 8  # NIST SP 800-63B: at least 8, no composition rules
MAX_PASSWORD = 256
MAX_LABEL = 100
TOUCH_EVERY_MS = 60_000  # a session's last use is written at most once a minute
CURRENT = "current"
WRONG_CREDENTIALS = (
    "the username or password is wrong"  # the same for both: nobody learns who has an account
)


class Passwords(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """False without a stored hash, after as long as a real check takes."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool: ...


class SessionEvents(Protocol):
    async def sessions_revoked(self, user_id: int, token_hashes: Sequence[bytes]) -> None:
        """Tells every gateway to stop accepting these tokens."""
        ...


class Sessions:
    """Example:
    sessions = Sessions(session_store, graph_store, Argon2Passwords(), events, ids)
    session, token = await sessions.sign_in("ada", "correct horse", label="Ada's phone")
    caller = await sessions.authenticate(token)
    await sessions.sign_out(caller, "current")
    """

    def __init__(
        self,
        store: SessionStore,
        users: GraphStore,
        passwords: Passwords,
        events: SessionEvents,
        ids: IdGenerator,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._users = users
        self._passwords = passwords
        self._events = events
        self._ids = ids
        self._clock = clock

    async def start(self, user: User, token: str, label: str, password: str) -> Session:
        """The first session of a new user (its id is the user's: a retried sign-up makes the
        same one), and their password if they chose one."""
        check_label(label)
        if password:
            check_password(password)
            await self._store.set_password_hash(user.id, await self._passwords.hash(password))
        session = Session(user.id, user.id, hash_token(token), label, user.created_at_ms, 0)
        await self._store.add_session(session)
        return session

    async def sign_in(self, username: str, password: str, label: str) -> tuple[Session, str]:
        if not username or not password:
            raise InvalidArgument(
                "username and password are both needed",
                field="username" if not username else "password",
            )
        check_label(label)
        if len(password) > MAX_PASSWORD:
            raise Unauthenticated(WRONG_CREDENTIALS, reason="WRONG_CREDENTIALS")
        user = await self._users.get_user_by_username(username.strip().lower())
        stored = await self._store.password_hash(user.id) if user is not None else None
        if not await self._passwords.verify(stored, password) or user is None or stored is None:
            raise Unauthenticated(WRONG_CREDENTIALS, reason="WRONG_CREDENTIALS")
        if self._passwords.needs_rehash(stored):
            await self._store.set_password_hash(user.id, await self._passwords.hash(password))
        token, now = new_token(), self._clock()
        session = Session(self._ids.next_id(), user.id, hash_token(token), label, now, now)
        await self._store.add_session(session)
        return session, token

    async def authenticate(self, token: str) -> Caller:
        session = await self._store.session_for_token(hash_token(token)) if token else None
        if session is None:
            raise Unauthenticated("the bearer token is not valid", reason="INVALID_TOKEN")
        now = self._clock()
        if now - session.last_used_at_ms >= TOUCH_EVERY_MS:
            await self._store.touch_session(session, now)
        return Caller(session.user_id, session.id)

    async def list(self, caller: Caller) -> list[Session]:
        return await self._store.sessions_of(caller.user_id)

    async def sign_out(self, caller: Caller, session_ref: str) -> None:
        """Signs out the session `session_ref` (an id, or `current`) of the caller."""
        if session_ref == CURRENT:
            session_id = caller.session_id
        elif session_ref.isdigit():
            session_id = int(session_ref)
        else:
            raise InvalidArgument(
                f"{session_ref!r} is not a session id (a number, or 'current')", field="id"
            )
        found = [s for s in await self._store.sessions_of(caller.user_id) if s.id == session_id]
        if not found:
            raise NotFound(f"you have no session {session_ref}", reason="SESSION_NOT_FOUND")
        await self._revoke(caller.user_id, found)

    async def sign_out_everywhere(self, user_id: int, *, keep: int = 0) -> None:
        """Every session of the user but `keep` (an id) is signed out."""
        sessions = [s for s in await self._store.sessions_of(user_id) if s.id != keep]
        if sessions:
            await self._revoke(user_id, sessions)

    async def erase(self, user_id: int) -> None:
        """An erased account: every session signed out, and the password gone."""
        await self.sign_out_everywhere(user_id)
        await self._store.delete_password(user_id)

    async def set_password(self, caller: Caller, current: str, new: str) -> None:
        """Once a password is set, changing it needs it, and signs out every other session
        (whoever else holds a token loses it)."""
        check_password(new, "new_password")
        stored = await self._store.password_hash(caller.user_id)
        if stored is not None:
            if not current:
                raise InvalidArgument(
                    "current_password is needed to change the password", field="current_password"
                )
            if not await self._passwords.verify(stored, current):
                raise PermissionDenied("the current password is wrong", reason="WRONG_PASSWORD")
        await self._store.set_password_hash(caller.user_id, await self._passwords.hash(new))
        if stored is not None:
            await self.sign_out_everywhere(caller.user_id, keep=caller.session_id)

    async def _revoke(self, user_id: int, sessions: Sequence[Session]) -> None:
        await self._events.sessions_revoked(user_id, [s.token_hash for s in sessions])
        await self._store.remove_sessions(user_id, [s.id for s in sessions])


def check_password(password: str, field: str = "password") -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidArgument(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            reason="INVALID_PASSWORD",
            field=field,
        )


def check_label(label: str) -> None:
    if len(label) > MAX_LABEL:
        raise InvalidArgument(f"a session label has at most {MAX_LABEL} characters", field="label")

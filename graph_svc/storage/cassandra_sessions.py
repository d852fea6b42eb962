"""Sessions and password hashes on Cassandra: a token's session by its hash (what every
request that misses the gateway's cache reads) and each user's sessions for listing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from common.cassandra import CassandraStore
from graph_svc.models import Session
from graph_svc.storage.rows import session_from_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.sessions_by_token (
        token_hash blob PRIMARY KEY, session_id bigint, user_id bigint, label text,
        created_at_ms bigint, last_used_at_ms bigint)""",
    """CREATE TABLE IF NOT EXISTS {ks}.sessions_by_user (
        user_id bigint, session_id bigint, token_hash blob,
        PRIMARY KEY (user_id, session_id))
        WITH CLUSTERING ORDER BY (session_id DESC)""",
    "CREATE TABLE IF NOT EXISTS {ks}.passwords (user_id bigint PRIMARY KEY, password_hash text)",
)
_COLUMNS = "token_hash, session_id, user_id, label, created_at_ms, last_used_at_ms"
STATEMENTS = {
    "add_by_token": f"INSERT INTO {{ks}}.sessions_by_token ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
    "add_by_user": "INSERT INTO {ks}.sessions_by_user (user_id, session_id, token_hash) "
    "VALUES (?, ?, ?)",
    "by_token": f"SELECT {_COLUMNS} FROM {{ks}}.sessions_by_token WHERE token_hash = ?",
    "of_user": "SELECT session_id, token_hash FROM {ks}.sessions_by_user WHERE user_id = ?",
    "touch": "UPDATE {ks}.sessions_by_token SET last_used_at_ms = ? WHERE token_hash = ? IF EXISTS",
    "del_by_token": "DELETE FROM {ks}.sessions_by_token WHERE token_hash = ?",
    "del_by_user": "DELETE FROM {ks}.sessions_by_user WHERE user_id = ? AND session_id = ?",
    "password": "SELECT password_hash FROM {ks}.passwords WHERE user_id = ?",
    "set_password": "INSERT INTO {ks}.passwords (user_id, password_hash) VALUES (?, ?)",
    "delete_password": "DELETE FROM {ks}.passwords WHERE user_id = ?",
}


class CassandraSessionStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def add_session(self, session: Session) -> None:
        # The user's row first: a crash in between leaves a listed session whose token does
        # not work yet (the retry adds it), never a working token nobody can list or revoke.
        await self.run("add_by_user", (session.user_id, session.id, session.token_hash))
        await self.run(
            "add_by_token",
            (
                session.token_hash,
                session.id,
                session.user_id,
                session.label,
                session.created_at_ms,
                session.last_used_at_ms,
            ),
        )

    async def session_for_token(self, token_hash: bytes) -> Session | None:
        rows = await self.run("by_token", (token_hash,))
        return session_from_row(rows[0]) if rows else None

    async def touch_session(self, session: Session, at_ms: int) -> None:
        # IF EXISTS: a touch racing a sign-out must not bring the row back.
        await self.applied("touch", (at_ms, session.token_hash))

    async def sessions_of(self, user_id: int) -> list[Session]:
        listed = await self.run("of_user", (user_id,))
        rows = await asyncio.gather(*(self.run("by_token", (r["token_hash"],)) for r in listed))
        return [session_from_row(found[0]) for found in rows if found]

    async def remove_sessions(self, user_id: int, session_ids: Sequence[int]) -> None:
        wanted = set(session_ids)
        listed = [r for r in await self.run("of_user", (user_id,)) if r["session_id"] in wanted]
        # The token first: once it is gone nothing resolves it, whatever a crash leaves.
        await asyncio.gather(*(self.run("del_by_token", (r["token_hash"],)) for r in listed))
        await asyncio.gather(*(self.run("del_by_user", (user_id, r["session_id"])) for r in listed))

    async def password_hash(self, user_id: int) -> str | None:
        rows = await self.run("password", (user_id,))
        return str(rows[0]["password_hash"]) if rows else None

    async def delete_password(self, user_id: int) -> None:
        await self.run("delete_password", (user_id,))

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self.run("set_password", (user_id, password_hash))

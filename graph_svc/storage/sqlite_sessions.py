"""Sessions and password hashes on SQLite (`sessions.db`)."""

from __future__ import annotations

from collections.abc import Sequence

from common.sqlite import SqliteStore
from graph_svc.models import Session
from graph_svc.storage.rows import session_from_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS sessions (
        session_id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        token_hash BLOB NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        last_used_at_ms INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id, session_id)",
    """CREATE TABLE IF NOT EXISTS passwords (
        user_id INTEGER PRIMARY KEY,
        password_hash TEXT NOT NULL)""",
)
_COLUMNS = "session_id, user_id, token_hash, label, created_at_ms, last_used_at_ms"


class SqliteSessionStore(SqliteStore):
    schema = SCHEMA

    async def add_session(self, session: Session) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR IGNORE INTO sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.user_id,
                    session.token_hash,
                    session.label,
                    session.created_at_ms,
                    session.last_used_at_ms,
                ),
            )

    async def session_for_token(self, token_hash: bytes) -> Session | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM sessions WHERE token_hash = ?", (token_hash,)
        )
        return session_from_row(row) if row else None

    async def touch_session(self, session: Session, at_ms: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE sessions SET last_used_at_ms = MAX(last_used_at_ms, ?) "
                "WHERE session_id = ?",
                (at_ms, session.id),
            )

    async def sessions_of(self, user_id: int) -> list[Session]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM sessions WHERE user_id = ? ORDER BY session_id DESC",
            (user_id,),
        )
        return [session_from_row(row) for row in rows]

    async def remove_sessions(self, user_id: int, session_ids: Sequence[int]) -> None:
        async with self._db.transaction() as tx:
            await tx.executemany(
                "DELETE FROM sessions WHERE user_id = ? AND session_id = ?",
                [(user_id, session_id) for session_id in session_ids],
            )

    async def password_hash(self, user_id: int) -> str | None:
        row = await self._db.fetchone(
            "SELECT password_hash FROM passwords WHERE user_id = ?", (user_id,)
        )
        return str(row["password_hash"]) if row else None

    async def delete_password(self, user_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM passwords WHERE user_id = ?", (user_id,))

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO passwords (user_id, password_hash) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash",
                (user_id, password_hash),
            )

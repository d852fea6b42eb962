"""Upload slots on SQLite."""

from __future__ import annotations

from typing import Any

from common.ids import now_ms
from common.sqlite import SqliteStore
from media_svc.models import Upload, UploadState
from media_svc.storage.rows import COLUMNS, upload_from_row, upload_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS uploads (
        upload_id INTEGER PRIMARY KEY,
        author_id INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        failure_reason TEXT,
        media BLOB,
        updated_at_ms INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS uploads_by_state ON uploads (state, expires_at_ms)",
)


class SqliteUploadStore(SqliteStore):
    schema = SCHEMA

    async def create(self, upload: Upload) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR IGNORE INTO uploads ({COLUMNS}, updated_at_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*upload_row(upload), now_ms()),
            )

    async def get(self, upload_id: int) -> Upload | None:
        row = await self._db.fetchone(
            f"SELECT {COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,)
        )
        return upload_from_row(row) if row else None

    async def mark_received(self, upload_id: int) -> bool:
        return await self._move(upload_id, UploadState.OPEN, UploadState.RECEIVED)

    async def mark_processed(self, upload_id: int, media: bytes) -> None:
        await self._move(upload_id, UploadState.RECEIVED, UploadState.PROCESSED, media=media)

    async def mark_failed(self, upload_id: int, reason: str) -> None:
        for source in (UploadState.OPEN, UploadState.RECEIVED):
            await self._move(upload_id, source, UploadState.FAILED, failure_reason=reason)

    async def _move(
        self, upload_id: int, source: UploadState, target: UploadState, **values: Any
    ) -> bool:
        assignments = "".join(f", {name} = ?" for name in values)
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                f"UPDATE uploads SET state = ?, updated_at_ms = ?{assignments} "
                "WHERE upload_id = ? AND state = ?",
                (target.value, now_ms(), *values.values(), upload_id, source.value),
            )
            return cursor.rowcount == 1

    async def in_state_received(self) -> list[Upload]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM uploads WHERE state = ?", (UploadState.RECEIVED.value,)
        )
        return [upload_from_row(row) for row in rows]

    async def expired_open(self, now_ms: int) -> list[Upload]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM uploads WHERE state = ? AND expires_at_ms < ?",
            (UploadState.OPEN.value, now_ms),
        )
        return [upload_from_row(row) for row in rows]

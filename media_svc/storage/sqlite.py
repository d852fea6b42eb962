"""Upload slots and content fingerprints on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common.ids import now_ms
from common.sqlite import SqliteStore
from media_svc.models import Upload, UploadState
from media_svc.storage.rows import COLUMNS, PLACEHOLDERS, upload_from_row, upload_row

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
        sha256 TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        updated_at_ms INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS uploads_by_state ON uploads (state, expires_at_ms)",
    "CREATE INDEX IF NOT EXISTS uploads_by_author ON uploads (author_id, state, expires_at_ms)",
    # Finished media by the SHA-256 of its original: identical uploads reuse it.
    """CREATE TABLE IF NOT EXISTS media_by_content (
        sha256 TEXT PRIMARY KEY,
        media BLOB NOT NULL)""",
    # Which uploads use each stored rendition (`<digest>.<extension>`); none left: deleted.
    """CREATE TABLE IF NOT EXISTS rendition_refs (
        name TEXT NOT NULL,
        upload_id INTEGER NOT NULL,
        PRIMARY KEY (name, upload_id)) WITHOUT ROWID""",
    # Who receives or processes an upload now, until when.
    """CREATE TABLE IF NOT EXISTS upload_claims (
        upload_id INTEGER NOT NULL,
        work TEXT NOT NULL,
        owner TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (upload_id, work)) WITHOUT ROWID""",
)
OPEN, RECEIVED, PUBLISHED = UploadState.OPEN, UploadState.RECEIVED, UploadState.PUBLISHED
PROCESSED, FAILED = UploadState.PROCESSED, UploadState.FAILED


class SqliteUploadStore(SqliteStore):
    schema = SCHEMA

    async def create(self, upload: Upload) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR IGNORE INTO uploads ({COLUMNS}) VALUES ({PLACEHOLDERS})",
                upload_row(upload, now_ms()),
            )

    async def get(self, upload_id: int) -> Upload | None:
        row = await self._db.fetchone(
            f"SELECT {COLUMNS} FROM uploads WHERE upload_id = ?", (upload_id,)
        )
        return upload_from_row(row) if row else None

    async def mark_received(self, upload_id: int, sha256: str) -> bool:
        return await self._move(upload_id, (OPEN,), UploadState.RECEIVED, sha256=sha256)

    async def mark_published(self, upload_id: int, media: bytes) -> bool:
        return await self._move(upload_id, (RECEIVED,), UploadState.PUBLISHED, media=media)

    async def mark_processed(self, upload_id: int, media: bytes) -> bool:
        return await self._move(upload_id, (RECEIVED, PUBLISHED), PROCESSED, media=media)

    async def mark_failed(self, upload_id: int, reason: str) -> None:
        await self._move(upload_id, (OPEN, RECEIVED), FAILED, failure_reason=reason)

    async def mark_deleted(self, upload_id: int, reason: str) -> None:
        sources = (OPEN, RECEIVED, PUBLISHED, PROCESSED, FAILED)
        await self._move(upload_id, sources, UploadState.DELETED, failure_reason=reason)

    async def record_attempt(self, upload_id: int, attempts: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE uploads SET attempts = ?, updated_at_ms = ? WHERE upload_id = ?",
                (attempts, now_ms(), upload_id),
            )

    async def _move(
        self,
        upload_id: int,
        sources: tuple[UploadState, ...],
        target: UploadState,
        **values: Any,
    ) -> bool:
        assignments = "".join(f", {name} = ?" for name in values)
        states = ", ".join("?" for _ in sources)
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                f"UPDATE uploads SET state = ?, updated_at_ms = ?{assignments} "
                f"WHERE upload_id = ? AND state IN ({states})",
                (
                    target.value,
                    now_ms(),
                    *values.values(),
                    upload_id,
                    *(source.value for source in sources),
                ),
            )
            return cursor.rowcount == 1

    async def in_state(self, state: UploadState) -> list[Upload]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM uploads WHERE state = ?", (state.value,)
        )
        return [upload_from_row(row) for row in rows]

    async def expired_open(self, now_ms: int) -> list[Upload]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM uploads WHERE state = ? AND expires_at_ms < ?",
            (OPEN.value, now_ms),
        )
        return [upload_from_row(row) for row in rows]

    async def open_of_author(self, author_id: int, now_ms: int) -> tuple[int, int]:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS bytes FROM uploads "
            "WHERE author_id = ? AND state = ? AND expires_at_ms >= ?",
            (author_id, OPEN.value, now_ms),
        )
        return (int(row["n"]), int(row["bytes"])) if row else (0, 0)

    async def of_author(self, author_id: int, limit: int) -> list[Upload]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM uploads WHERE author_id = ? ORDER BY upload_id LIMIT ?",
            (author_id, limit),
        )
        return [upload_from_row(row) for row in rows]

    async def erase(self, upload: Upload) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM rendition_refs WHERE upload_id = ?", (upload.upload_id,))
            await tx.execute("DELETE FROM uploads WHERE upload_id = ?", (upload.upload_id,))

    async def media_for_content(self, sha256: str) -> bytes | None:
        row = await self._db.fetchone(
            "SELECT media FROM media_by_content WHERE sha256 = ?", (sha256,)
        )
        return bytes(row["media"]) if row else None

    async def remember_content(self, sha256: str, media: bytes) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT OR REPLACE INTO media_by_content (sha256, media) VALUES (?, ?)",
                (sha256, media),
            )

    async def forget_content(self, sha256: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM media_by_content WHERE sha256 = ?", (sha256,))

    async def add_rendition_refs(self, upload_id: int, names: Sequence[str]) -> None:
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT OR IGNORE INTO rendition_refs (name, upload_id) VALUES (?, ?)",
                [(name, upload_id) for name in names],
            )

    async def drop_rendition_refs(self, upload_id: int, names: Sequence[str]) -> None:
        async with self._db.transaction() as tx:
            await tx.executemany(
                "DELETE FROM rendition_refs WHERE name = ? AND upload_id = ?",
                [(name, upload_id) for name in names],
            )

    async def rendition_referenced(self, name: str) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM rendition_refs WHERE name = ? LIMIT 1", (name,)
        )
        return row is not None

    async def claim(self, upload_id: int, work: str, owner: str, ttl_s: int) -> bool:
        now = now_ms()
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO upload_claims (upload_id, work, owner, expires_at_ms) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (upload_id, work) DO UPDATE "
                "SET owner = excluded.owner, expires_at_ms = excluded.expires_at_ms "
                "WHERE upload_claims.owner = excluded.owner OR upload_claims.expires_at_ms <= ?",
                (upload_id, work, owner, now + ttl_s * 1000, now),
            )
            return cursor.rowcount == 1

    async def release(self, upload_id: int, work: str, owner: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM upload_claims WHERE upload_id = ? AND work = ? AND owner = ?",
                (upload_id, work, owner),
            )

    async def holder(self, upload_id: int, work: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT owner FROM upload_claims "
            "WHERE upload_id = ? AND work = ? AND expires_at_ms > ?",
            (upload_id, work, now_ms()),
        )
        return str(row["owner"]) if row else None

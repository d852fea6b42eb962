"""Upload slots on Cassandra; state changes are lightweight transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from common.cassandra import CassandraStore, Row
from common.ids import now_ms
from media_svc.models import Upload, UploadState
from media_svc.storage.rows import COLUMNS, upload_from_row, upload_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.uploads (
        upload_id bigint PRIMARY KEY, author_id bigint, media_type text, content_type text,
        size_bytes bigint, expires_at_ms bigint, state text, failure_reason text, media blob,
        updated_at_ms bigint)""",
    # The few slots that still owe work (OPEN until expiry, RECEIVED until processed), for the
    # sweeper and for recovery after a restart; finished slots leave it.
    """CREATE TABLE IF NOT EXISTS {ks}.uploads_pending (
        state text, upload_id bigint, expires_at_ms bigint,
        PRIMARY KEY (state, upload_id))""",
)
STATEMENTS = {
    "create": f"INSERT INTO {{ks}}.uploads ({COLUMNS}, updated_at_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS",
    "get": f"SELECT {COLUMNS} FROM {{ks}}.uploads WHERE upload_id = ?",
    "move": "UPDATE {ks}.uploads SET state = ?, updated_at_ms = ? WHERE upload_id = ? IF state = ?",
    "processed": "UPDATE {ks}.uploads SET state = ?, media = ?, updated_at_ms = ? "
    "WHERE upload_id = ? IF state = ?",
    "failed": "UPDATE {ks}.uploads SET state = ?, failure_reason = ?, updated_at_ms = ? "
    "WHERE upload_id = ? IF state = ?",
    "pending_add": "INSERT INTO {ks}.uploads_pending (state, upload_id, expires_at_ms) "
    "VALUES (?, ?, ?)",
    "pending_del": "DELETE FROM {ks}.uploads_pending WHERE state = ? AND upload_id = ?",
    "pending": "SELECT upload_id, expires_at_ms FROM {ks}.uploads_pending WHERE state = ?",
}
OPEN, RECEIVED = UploadState.OPEN.value, UploadState.RECEIVED.value


class CassandraUploadStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def create(self, upload: Upload) -> None:
        if await self.applied("create", (*upload_row(upload), now_ms())):
            await self.run("pending_add", (OPEN, upload.upload_id, upload.expires_at_ms))

    async def get(self, upload_id: int) -> Upload | None:
        rows = await self.run("get", (upload_id,))
        return upload_from_row(rows[0]) if rows else None

    async def mark_received(self, upload_id: int) -> bool:
        if not await self.applied("move", (RECEIVED, now_ms(), upload_id, OPEN)):
            return False
        await self.run("pending_add", (RECEIVED, upload_id, 0))
        await self.run("pending_del", (OPEN, upload_id))
        return True

    async def mark_processed(self, upload_id: int, media: bytes) -> None:
        await self.run(
            "processed", (UploadState.PROCESSED.value, media, now_ms(), upload_id, RECEIVED)
        )
        await self.run("pending_del", (RECEIVED, upload_id))

    async def mark_failed(self, upload_id: int, reason: str) -> None:
        for source in (OPEN, RECEIVED):
            await self.run(
                "failed", (UploadState.FAILED.value, reason, now_ms(), upload_id, source)
            )
            await self.run("pending_del", (source, upload_id))

    async def in_state_received(self) -> list[Upload]:
        return await self._pending(RECEIVED, lambda row: True)

    async def expired_open(self, now_ms: int) -> list[Upload]:
        return await self._pending(OPEN, lambda row: row["expires_at_ms"] < now_ms)

    async def _pending(self, state: str, keep: Callable[[Row], bool]) -> list[Upload]:
        rows = [r for r in await self.run("pending", (state,)) if keep(r)]
        uploads = await asyncio.gather(*(self.get(r["upload_id"]) for r in rows))
        return [u for u in uploads if u is not None and u.state.value == state]

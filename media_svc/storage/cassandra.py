"""Upload slots and content fingerprints on Cassandra; state changes are lightweight
transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from common.cassandra import CassandraStore, Row
from common.ids import now_ms
from media_svc.models import Upload, UploadState
from media_svc.storage.rows import COLUMNS, PLACEHOLDERS, upload_from_row, upload_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.uploads (
        upload_id bigint PRIMARY KEY, author_id bigint, media_type text, content_type text,
        size_bytes bigint, expires_at_ms bigint, state text, failure_reason text, media blob,
        sha256 text, attempts int, updated_at_ms bigint)""",
    # The few slots that still owe work (OPEN until expiry, RECEIVED until processed,
    # PUBLISHED until AVIF is added), for the sweeper and the reconciler; finished slots leave.
    """CREATE TABLE IF NOT EXISTS {ks}.uploads_pending (
        state text, upload_id bigint, expires_at_ms bigint,
        PRIMARY KEY (state, upload_id))""",
    # An author's slots still OPEN, for the quota; each row expires with its slot's URL.
    """CREATE TABLE IF NOT EXISTS {ks}.open_uploads_by_author (
        author_id bigint, upload_id bigint, size_bytes bigint, expires_at_ms bigint,
        PRIMARY KEY (author_id, upload_id))""",
    # Every upload of an author, in any state, until erased: what an account's erasure
    # deletes. Uploads opened before this table existed are not in it.
    """CREATE TABLE IF NOT EXISTS {ks}.uploads_by_author (
        author_id bigint, upload_id bigint, PRIMARY KEY (author_id, upload_id))""",
    # Finished media by the SHA-256 of its original: identical uploads reuse it.
    "CREATE TABLE IF NOT EXISTS {ks}.media_by_content (sha256 text PRIMARY KEY, media blob)",
    # Which uploads use each stored rendition (`<digest>.<extension>`); none left: deleted.
    """CREATE TABLE IF NOT EXISTS {ks}.rendition_refs (
        name text, upload_id bigint, PRIMARY KEY (name, upload_id))""",
    # Who receives or processes an upload now; each row lives as long as its claim (TTL).
    """CREATE TABLE IF NOT EXISTS {ks}.upload_claims (
        upload_id bigint, work text, owner text, PRIMARY KEY ((upload_id, work)))""",
)
STATEMENTS = {
    "create": f"INSERT INTO {{ks}}.uploads ({COLUMNS}) VALUES ({PLACEHOLDERS}) IF NOT EXISTS",
    "get": f"SELECT {COLUMNS} FROM {{ks}}.uploads WHERE upload_id = ?",
    "received": "UPDATE {ks}.uploads SET state = ?, sha256 = ?, updated_at_ms = ? "
    "WHERE upload_id = ? IF state = ?",
    "with_media": "UPDATE {ks}.uploads SET state = ?, media = ?, updated_at_ms = ? "
    "WHERE upload_id = ? IF state = ?",
    # Final states are reached from either of two states: one conditional write, not two.
    "processed": "UPDATE {ks}.uploads SET state = ?, media = ?, updated_at_ms = ? "
    "WHERE upload_id = ? IF state IN (?, ?)",
    "failed": "UPDATE {ks}.uploads SET state = ?, failure_reason = ?, updated_at_ms = ? "
    "WHERE upload_id = ? IF state IN (?, ?)",
    "deleted": "UPDATE {ks}.uploads SET state = ?, failure_reason = ?, updated_at_ms = ? "
    "WHERE upload_id = ? IF state IN (?, ?, ?, ?, ?)",
    "attempt": "UPDATE {ks}.uploads SET attempts = ?, updated_at_ms = ? WHERE upload_id = ? "
    "IF EXISTS",
    "pending_add": "INSERT INTO {ks}.uploads_pending (state, upload_id, expires_at_ms) "
    "VALUES (?, ?, ?)",
    "pending_del": "DELETE FROM {ks}.uploads_pending WHERE state = ? AND upload_id = ?",
    "pending": "SELECT upload_id, expires_at_ms FROM {ks}.uploads_pending WHERE state = ?",
    "author_open_add": "INSERT INTO {ks}.open_uploads_by_author "
    "(author_id, upload_id, size_bytes, expires_at_ms) VALUES (?, ?, ?, ?) USING TTL ?",
    "author_open_del": "DELETE FROM {ks}.open_uploads_by_author "
    "WHERE author_id = ? AND upload_id = ?",
    "author_open": "SELECT size_bytes, expires_at_ms FROM {ks}.open_uploads_by_author "
    "WHERE author_id = ?",
    "author_index": "INSERT INTO {ks}.uploads_by_author (author_id, upload_id) VALUES (?, ?)",
    "author_uploads": "SELECT upload_id FROM {ks}.uploads_by_author "
    "WHERE author_id = ? AND upload_id > ? LIMIT ?",
    "author_unindex": "DELETE FROM {ks}.uploads_by_author WHERE author_id = ? AND upload_id = ?",
    "erase": "DELETE FROM {ks}.uploads WHERE upload_id = ?",
    "content_get": "SELECT media FROM {ks}.media_by_content WHERE sha256 = ?",
    "content_put": "INSERT INTO {ks}.media_by_content (sha256, media) VALUES (?, ?)",
    "content_del": "DELETE FROM {ks}.media_by_content WHERE sha256 = ?",
    "ref_add": "INSERT INTO {ks}.rendition_refs (name, upload_id) VALUES (?, ?)",
    "ref_del": "DELETE FROM {ks}.rendition_refs WHERE name = ? AND upload_id = ?",
    "ref_any": "SELECT upload_id FROM {ks}.rendition_refs WHERE name = ? LIMIT 1",
    "claim": "INSERT INTO {ks}.upload_claims (upload_id, work, owner) VALUES (?, ?, ?) "
    "IF NOT EXISTS USING TTL ?",
    "claim_extend": "UPDATE {ks}.upload_claims USING TTL ? SET owner = ? "
    "WHERE upload_id = ? AND work = ? IF owner = ?",
    "claim_release": "DELETE FROM {ks}.upload_claims WHERE upload_id = ? AND work = ? IF owner = ?",
    "holder": "SELECT owner FROM {ks}.upload_claims WHERE upload_id = ? AND work = ?",
}
OPEN, RECEIVED, PUBLISHED = (
    UploadState.OPEN.value,
    UploadState.RECEIVED.value,
    UploadState.PUBLISHED.value,
)


class CassandraUploadStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def create(self, upload: Upload) -> None:
        # The author's index first: an entry whose upload a crash kept from being written is
        # dropped when read, an upload missing from it would escape an erasure.
        await self.run("author_index", (upload.author_id, upload.upload_id))
        if await self.applied("create", upload_row(upload, now_ms())):
            await self.run("pending_add", (OPEN, upload.upload_id, upload.expires_at_ms))
            # Reads skip expired rows; the TTL only clears them out, an hour later.
            ttl_s = max(0, upload.expires_at_ms - now_ms()) // 1000 + 3600
            row = (upload.author_id, upload.upload_id, upload.size_bytes, upload.expires_at_ms)
            await self.run("author_open_add", (*row, ttl_s))

    async def get(self, upload_id: int) -> Upload | None:
        rows = await self.run("get", (upload_id,))
        return upload_from_row(rows[0]) if rows else None

    async def mark_received(self, upload_id: int, sha256: str) -> bool:
        if not await self.applied("received", (RECEIVED, sha256, now_ms(), upload_id, OPEN)):
            return False
        await self._pending_moves(upload_id, (OPEN,), RECEIVED)
        return True

    async def mark_published(self, upload_id: int, media: bytes) -> bool:
        if not await self.applied("with_media", (PUBLISHED, media, now_ms(), upload_id, RECEIVED)):
            return False
        await self._pending_moves(upload_id, (RECEIVED,), PUBLISHED)
        return True

    async def mark_processed(self, upload_id: int, media: bytes) -> bool:
        values = (UploadState.PROCESSED.value, media, now_ms(), upload_id, RECEIVED, PUBLISHED)
        if not await self.applied("processed", values):
            return False
        await self._pending_moves(upload_id, (RECEIVED, PUBLISHED), None)
        return True

    async def mark_failed(self, upload_id: int, reason: str) -> None:
        values = (UploadState.FAILED.value, reason, now_ms(), upload_id, OPEN, RECEIVED)
        if await self.applied("failed", values):
            await self._pending_moves(upload_id, (OPEN, RECEIVED), None)

    async def mark_deleted(self, upload_id: int, reason: str) -> None:
        sources = (OPEN, RECEIVED, PUBLISHED, UploadState.PROCESSED.value, UploadState.FAILED.value)
        values = (UploadState.DELETED.value, reason, now_ms(), upload_id, *sources)
        await self.applied("deleted", values)
        # Also when deleted before: a crash may have come between the two.
        upload = await self.get(upload_id)
        if upload is not None and upload.state is UploadState.DELETED:
            await self._pending_moves(upload_id, (OPEN, RECEIVED, PUBLISHED), None)

    async def record_attempt(self, upload_id: int, attempts: int) -> None:
        await self.run("attempt", (attempts, now_ms(), upload_id))

    async def _pending_moves(
        self, upload_id: int, sources: tuple[str, ...], target: str | None
    ) -> None:
        """Moves the slot's pending entry from whichever of `sources` held it to `target`.

        Add before delete: a crash in between leaves a stale entry, which readers skip (and,
        for the author's quota, one that expires with the slot's URL)."""
        if target is not None:
            await self.run("pending_add", (target, upload_id, 0))
        for source in sources:
            await self.run("pending_del", (source, upload_id))
        if OPEN in sources and (upload := await self.get(upload_id)) is not None:
            await self.run("author_open_del", (upload.author_id, upload_id))

    async def in_state(self, state: UploadState) -> list[Upload]:
        return await self._pending(state.value, lambda row: True)

    async def open_of_author(self, author_id: int, now_ms: int) -> tuple[int, int]:
        rows = await self.run("author_open", (author_id,))
        live = [r for r in rows if r["expires_at_ms"] >= now_ms]
        return len(live), sum(r["size_bytes"] for r in live)

    async def expired_open(self, now_ms: int) -> list[Upload]:
        return await self._pending(OPEN, lambda row: row["expires_at_ms"] < now_ms)

    async def _pending(self, state: str, keep: Callable[[Row], bool]) -> list[Upload]:
        rows = [r for r in await self.run("pending", (state,)) if keep(r)]
        uploads = await asyncio.gather(*(self.get(r["upload_id"]) for r in rows))
        return [u for u in uploads if u is not None and u.state.value == state]

    async def of_author(self, author_id: int, limit: int) -> list[Upload]:
        async def resolve(rows: list[Row]) -> list[Upload | None]:
            return list(await asyncio.gather(*(self.get(r["upload_id"]) for r in rows)))

        return await self.live_entries(
            "author_uploads", author_id, "upload_id", limit, resolve, "author_unindex"
        )

    async def erase(self, upload: Upload) -> None:
        upload_id = upload.upload_id
        await asyncio.gather(
            *(self.run("pending_del", (state, upload_id)) for state in (OPEN, RECEIVED, PUBLISHED)),
            self.run("author_open_del", (upload.author_id, upload_id)),
        )
        await self.run("erase", (upload_id,))
        # Last: until the row is gone, the index must still find it.
        await self.run("author_unindex", (upload.author_id, upload_id))

    async def media_for_content(self, sha256: str) -> bytes | None:
        rows = await self.run("content_get", (sha256,))
        return bytes(rows[0]["media"]) if rows else None

    async def remember_content(self, sha256: str, media: bytes) -> None:
        await self.run("content_put", (sha256, media))

    async def forget_content(self, sha256: str) -> None:
        await self.run("content_del", (sha256,))

    async def add_rendition_refs(self, upload_id: int, names: Sequence[str]) -> None:
        await asyncio.gather(*(self.run("ref_add", (name, upload_id)) for name in names))

    async def drop_rendition_refs(self, upload_id: int, names: Sequence[str]) -> None:
        await asyncio.gather(*(self.run("ref_del", (name, upload_id)) for name in names))

    async def rendition_referenced(self, name: str) -> bool:
        return bool(await self.run("ref_any", (name,)))

    async def claim(self, upload_id: int, work: str, owner: str, ttl_s: int) -> bool:
        if await self.applied("claim", (upload_id, work, owner, ttl_s)):
            return True
        return await self.applied("claim_extend", (ttl_s, owner, upload_id, work, owner))

    async def release(self, upload_id: int, work: str, owner: str) -> None:
        await self.applied("claim_release", (upload_id, work, owner))

    async def holder(self, upload_id: int, work: str) -> str | None:
        rows = await self.run("holder", (upload_id, work))
        return str(rows[0]["owner"]) if rows else None

"""The embedded post store on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from photoshare.media.v1 import media_pb2

from common.ids import now_ms
from common.sqlite import SqliteStore
from post_svc.models import FeedKey, Post, PostState
from post_svc.storage.base import ANONYMOUS, REQUEST_TTL_S
from post_svc.storage.rows import COLUMNS, PLACEHOLDERS, post_from_row, post_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS posts (
        id INTEGER PRIMARY KEY,
        author_id INTEGER NOT NULL,
        caption TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        failure_reason TEXT,
        media BLOB,
        published_at_ms INTEGER)""",
    "ALTER TABLE posts ADD COLUMN edited_at_ms INTEGER",
    """CREATE INDEX IF NOT EXISTS published_by_author
        ON posts (author_id, published_at_ms, id) WHERE published_at_ms IS NOT NULL""",
    # Creating requests by the author's request id, for retries (24 h).
    """CREATE TABLE IF NOT EXISTS post_requests (
        author_id INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        post_id INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (author_id, request_id))""",
    "CREATE INDEX IF NOT EXISTS post_requests_by_expiry ON post_requests (expires_at_ms)",
    # Every post of an author, in any state: what an erasure deletes.
    "CREATE INDEX IF NOT EXISTS posts_by_author ON posts (author_id, id)",
)

_NEWEST = (2**62, 2**62)
# Authors per statement: each gets its own index range scan with a LIMIT.
_AUTHORS_PER_QUERY = 200


class SqlitePostStore(SqliteStore):
    schema = SCHEMA

    async def insert(self, post: Post) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR IGNORE INTO posts ({COLUMNS}) VALUES ({PLACEHOLDERS})",
                post_row(post),
            )

    async def remember_request(
        self, author_id: int, request_id: str, post_id: int, fingerprint: str
    ) -> tuple[int, str]:
        now = now_ms()
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM post_requests WHERE expires_at_ms <= ?", (now,))
            await tx.execute(
                "INSERT OR IGNORE INTO post_requests VALUES (?, ?, ?, ?, ?)",
                (author_id, request_id, post_id, fingerprint, now + REQUEST_TTL_S * 1000),
            )
            async with tx.execute(
                "SELECT post_id, fingerprint FROM post_requests "
                "WHERE author_id = ? AND request_id = ?",
                (author_id, request_id),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None  # written or kept within this transaction
        return int(row["post_id"]), str(row["fingerprint"])

    async def get_many(self, ids: Sequence[int]) -> dict[int, Post]:
        found: dict[int, Post] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = await self._db.fetchall(
                f"SELECT {COLUMNS} FROM posts WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update((row["id"], post_from_row(row)) for row in rows)
        return found

    async def mark_published(
        self, post_id: int, media: media_pb2.Media, published_at_ms: int
    ) -> Post | None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE posts SET state = ?, media = ?, published_at_ms = ? "
                "WHERE id = ? AND state = ?",
                (
                    PostState.PUBLISHED.value,
                    media.SerializeToString(),
                    published_at_ms,
                    post_id,
                    PostState.PENDING_MEDIA.value,
                ),
            )
            return await _fetch(tx, post_id)

    async def update_media(self, post_id: int, media: media_pb2.Media) -> Post | None:
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE posts SET media = ? WHERE id = ? AND state = ?",
                (media.SerializeToString(), post_id, PostState.PUBLISHED.value),
            )
            return await _fetch(tx, post_id) if cursor.rowcount == 1 else None

    async def update_caption(self, post_id: int, caption: str, edited_at_ms: int) -> Post | None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE posts SET caption = ?, edited_at_ms = ? WHERE id = ?",
                (caption, edited_at_ms, post_id),
            )
            return await _fetch(tx, post_id)

    async def mark_deleted(self, post_id: int) -> Post | None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE posts SET state = ? WHERE id = ?", (PostState.DELETED.value, post_id)
            )
            return await _fetch(tx, post_id)

    async def of_author(self, author_id: int, limit: int) -> list[Post]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM posts WHERE author_id = ? ORDER BY id LIMIT ?",
            (author_id, limit),
        )
        return [post_from_row(row) for row in rows]

    async def forget(self, post_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"UPDATE posts SET author_id = {ANONYMOUS}, caption = '', failure_reason = NULL, "
                "media = NULL, edited_at_ms = NULL WHERE id = ? AND state = ?",
                (post_id, PostState.DELETED.value),
            )

    async def forget_requests(self, author_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM post_requests WHERE author_id = ?", (author_id,))

    async def mark_failed(self, post_id: int, reason: str) -> Post | None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE posts SET state = ?, failure_reason = ? WHERE id = ? AND state = ?",
                (PostState.FAILED.value, reason, post_id, PostState.PENDING_MEDIA.value),
            )
            return await _fetch(tx, post_id)

    async def published_by_authors(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> list[Post]:
        bound = before or _NEWEST
        unique = list(dict.fromkeys(author_ids))
        found: list[Post] = []
        for start in range(0, len(unique), _AUTHORS_PER_QUERY):
            chunk = unique[start : start + _AUTHORS_PER_QUERY]
            per_author = (
                f"SELECT * FROM (SELECT {COLUMNS} FROM posts WHERE author_id = ? "
                "AND published_at_ms IS NOT NULL AND state = 'PUBLISHED' "
                "AND (published_at_ms, id) < (?, ?) "
                "ORDER BY published_at_ms DESC, id DESC LIMIT ?)"
            )
            sql = " UNION ALL ".join([per_author] * len(chunk))
            params: list[int] = []
            for author in chunk:
                params += [author, *bound, limit]
            found += [post_from_row(row) for row in await self._db.fetchall(sql, params)]
        found.sort(key=lambda p: p.feed_key, reverse=True)
        return found[:limit]


async def _fetch(tx: Any, post_id: int) -> Post | None:
    async with tx.execute(f"SELECT {COLUMNS} FROM posts WHERE id = ?", (post_id,)) as cursor:
        row = await cursor.fetchone()
    return post_from_row(row) if row else None

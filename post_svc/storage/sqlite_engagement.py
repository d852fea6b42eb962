"""Likes and comments on SQLite (embedded default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common.sqlite import SqliteStore
from post_svc.models import Comment, Like

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS likes (
        post_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        liked_at_ms INTEGER NOT NULL,
        PRIMARY KEY (post_id, user_id)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS likes_by_time ON likes (post_id, liked_at_ms, user_id)""",
    """CREATE TABLE IF NOT EXISTS comments (
        id INTEGER PRIMARY KEY,
        post_id INTEGER NOT NULL,
        author_id INTEGER NOT NULL,
        text TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS comments_by_post ON comments (post_id, id)""",
    # What an erasure removes: a user's likes and comments on every post.
    "CREATE INDEX IF NOT EXISTS likes_by_user ON likes (user_id, post_id)",
    "CREATE INDEX IF NOT EXISTS comments_by_author ON comments (author_id, id)",
)

_NEWEST = (2**62, 2**62)
_COMMENT_COLUMNS = "id, post_id, author_id, text, created_at_ms"


class SqliteEngagementStore(SqliteStore):
    schema = SCHEMA

    async def add_like(self, post_id: int, user_id: int, at_ms: int) -> Like:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT OR IGNORE INTO likes (post_id, user_id, liked_at_ms) VALUES (?, ?, ?)",
                (post_id, user_id, at_ms),
            )
            async with tx.execute(
                "SELECT liked_at_ms FROM likes WHERE post_id = ? AND user_id = ?",
                (post_id, user_id),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return Like(post_id, user_id, row["liked_at_ms"])

    async def get_like(self, post_id: int, user_id: int) -> Like | None:
        row = await self._db.fetchone(
            "SELECT liked_at_ms FROM likes WHERE post_id = ? AND user_id = ?", (post_id, user_id)
        )
        return Like(post_id, user_id, row["liked_at_ms"]) if row else None

    async def liked_among(self, user_id: int, post_ids: Sequence[int]) -> set[int]:
        unique = list(dict.fromkeys(post_ids))
        if not unique:
            return set()
        marks = ",".join("?" * len(unique))
        rows = await self._db.fetchall(
            f"SELECT post_id FROM likes WHERE user_id = ? AND post_id IN ({marks})",
            (user_id, *unique),
        )
        return {row["post_id"] for row in rows}

    async def remove_like(self, like: Like) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM likes WHERE post_id = ? AND user_id = ? AND liked_at_ms = ?",
                (like.post_id, like.user_id, like.liked_at_ms),
            )

    async def likes(self, post_id: int, before: tuple[int, int] | None, limit: int) -> list[Like]:
        rows = await self._db.fetchall(
            "SELECT user_id, liked_at_ms FROM likes WHERE post_id = ? "
            "AND (liked_at_ms, user_id) < (?, ?) "
            "ORDER BY liked_at_ms DESC, user_id DESC LIMIT ?",
            (post_id, *(before or _NEWEST), limit),
        )
        return [Like(post_id, row["user_id"], row["liked_at_ms"]) for row in rows]

    async def add_comment(self, comment: Comment) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR IGNORE INTO comments ({_COMMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (
                    comment.id,
                    comment.post_id,
                    comment.author_id,
                    comment.text,
                    comment.created_at_ms,
                ),
            )

    async def get_comment(self, post_id: int, comment_id: int) -> Comment | None:
        row = await self._db.fetchone(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ? AND post_id = ?",
            (comment_id, post_id),
        )
        return _comment(row) if row else None

    async def comments(self, post_id: int, after_id: int, limit: int) -> list[Comment]:
        rows = await self._db.fetchall(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE post_id = ? AND id > ? "
            "ORDER BY id LIMIT ?",
            (post_id, after_id, limit),
        )
        return [_comment(row) for row in rows]

    async def likes_of_user(self, user_id: int, limit: int) -> list[Like]:
        rows = await self._db.fetchall(
            "SELECT post_id, liked_at_ms FROM likes WHERE user_id = ? ORDER BY post_id LIMIT ?",
            (user_id, limit),
        )
        return [Like(row["post_id"], user_id, row["liked_at_ms"]) for row in rows]

    async def comments_of_author(self, author_id: int, limit: int) -> list[Comment]:
        rows = await self._db.fetchall(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE author_id = ? ORDER BY id LIMIT ?",
            (author_id, limit),
        )
        return [_comment(row) for row in rows]

    async def delete_post(self, post_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM likes WHERE post_id = ?", (post_id,))
            await tx.execute("DELETE FROM comments WHERE post_id = ?", (post_id,))

    async def delete_comment(self, post_id: int, comment_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM comments WHERE id = ? AND post_id = ?", (comment_id, post_id)
            )


def _comment(row: Any) -> Comment:
    return Comment(row["id"], row["post_id"], row["author_id"], row["text"], row["created_at_ms"])

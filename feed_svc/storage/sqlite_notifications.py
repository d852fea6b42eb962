"""Notifications on SQLite (embedded default): one row per entry, ordered by an index on
(recipient, position); one row per actor of an entry; one read mark per user."""

from __future__ import annotations

import json
from typing import Any

from common.sqlite import SqliteStore
from feed_svc.models import NotificationGroup
from feed_svc.storage.notification_rows import COLUMNS, PLACEHOLDERS, group_from_row, group_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS notification_groups (
        recipient_id INTEGER NOT NULL,
        group_key TEXT NOT NULL,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        actor_count INTEGER NOT NULL,
        recent_actor_ids TEXT NOT NULL,
        applied TEXT NOT NULL,
        post_id INTEGER NOT NULL,
        comment_id INTEGER NOT NULL,
        comment_text TEXT NOT NULL,
        PRIMARY KEY (recipient_id, group_key)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS notifications_by_position
        ON notification_groups (recipient_id, position)""",
    """CREATE TABLE IF NOT EXISTS notification_actors (
        recipient_id INTEGER NOT NULL,
        group_key TEXT NOT NULL,
        actor_id INTEGER NOT NULL,
        PRIMARY KEY (recipient_id, group_key, actor_id)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS notification_reads (
        recipient_id INTEGER PRIMARY KEY,
        read_up_to INTEGER NOT NULL)""",
    # The groups a user is an actor of, for an erasure.
    "CREATE INDEX IF NOT EXISTS notification_actors_by_actor ON notification_actors (actor_id)",
)


class SqliteNotificationStore(SqliteStore):
    schema = SCHEMA

    async def group(self, recipient_id: int, key: str) -> NotificationGroup | None:
        row = await self._db.fetchone(
            f"SELECT {COLUMNS} FROM notification_groups WHERE recipient_id = ? AND group_key = ?",
            (recipient_id, key),
        )
        return _group(row) if row else None

    async def save_group(
        self, recipient_id: int, group: NotificationGroup, replaces: int | None
    ) -> None:
        # One row per entry: its position is a column, so `replaces` needs no work here.
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR REPLACE INTO notification_groups (recipient_id, {COLUMNS}) "
                f"VALUES (?, {PLACEHOLDERS})",
                (recipient_id, *_row(group)),
            )

    async def delete_group(self, recipient_id: int, group: NotificationGroup) -> None:
        async with self._db.transaction() as tx:
            for table in ("notification_groups", "notification_actors"):
                await tx.execute(
                    f"DELETE FROM {table} WHERE recipient_id = ? AND group_key = ?",
                    (recipient_id, group.key),
                )

    async def groups_with_actor(self, actor_id: int, limit: int) -> list[tuple[int, str]]:
        rows = await self._db.fetchall(
            "SELECT recipient_id, group_key FROM notification_actors WHERE actor_id = ? LIMIT ?",
            (actor_id, limit),
        )
        return [(row["recipient_id"], row["group_key"]) for row in rows]

    async def erase_recipient(self, recipient_id: int) -> None:
        async with self._db.transaction() as tx:
            for table in ("notification_groups", "notification_actors", "notification_reads"):
                await tx.execute(f"DELETE FROM {table} WHERE recipient_id = ?", (recipient_id,))

    async def groups_about_post(self, recipient_id: int, post_id: int) -> list[NotificationGroup]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM notification_groups WHERE recipient_id = ? AND post_id = ?",
            (recipient_id, post_id),
        )
        return [_group(row) for row in rows]

    async def has_actor(self, recipient_id: int, key: str, actor_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM notification_actors "
            "WHERE recipient_id = ? AND group_key = ? AND actor_id = ?",
            (recipient_id, key, actor_id),
        )
        return row is not None

    async def add_actor(self, recipient_id: int, key: str, actor_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT OR IGNORE INTO notification_actors VALUES (?, ?, ?)",
                (recipient_id, key, actor_id),
            )

    async def remove_actor(self, recipient_id: int, key: str, actor_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM notification_actors "
                "WHERE recipient_id = ? AND group_key = ? AND actor_id = ?",
                (recipient_id, key, actor_id),
            )

    async def page(
        self, recipient_id: int, before: int | None, limit: int
    ) -> list[NotificationGroup]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM notification_groups "
            "WHERE recipient_id = ? AND position < ? ORDER BY position DESC LIMIT ?",
            (recipient_id, before if before is not None else 2**63 - 1, limit),
        )
        return [_group(row) for row in rows]

    async def count_above(self, recipient_id: int, position: int, cap: int) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM notification_groups "
            "WHERE recipient_id = ? AND position > ? LIMIT ?)",
            (recipient_id, position, cap),
        )
        return int(row["n"]) if row else 0

    async def read_up_to(self, recipient_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT read_up_to FROM notification_reads WHERE recipient_id = ?", (recipient_id,)
        )
        return int(row["read_up_to"]) if row else 0

    async def mark_read(self, recipient_id: int, position: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                """INSERT INTO notification_reads (recipient_id, read_up_to) VALUES (?, ?)
                ON CONFLICT (recipient_id) DO UPDATE
                SET read_up_to = max(read_up_to, excluded.read_up_to)""",
                (recipient_id, position),
            )


def _row(group: NotificationGroup) -> tuple[Any, ...]:
    return group_row(group, json.dumps)


def _group(row: Any) -> NotificationGroup:
    return group_from_row(row, json.loads)

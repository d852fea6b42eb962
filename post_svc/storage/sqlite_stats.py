"""Like and comment counts on SQLite (embedded default): the counts and the ids of the events
applied to them change in one transaction, so an event is counted exactly once. Ids are kept
as long as a redelivery could come (7 days, as Redis keeps its markers), then pruned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from common.ids import now_ms
from common.sqlite import SqliteStore
from post_svc.models import Applied, PostStats

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS post_stats (
        post_id INTEGER PRIMARY KEY,
        likes INTEGER NOT NULL DEFAULT 0,
        comments INTEGER NOT NULL DEFAULT 0)""",
    "ALTER TABLE post_stats ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE IF NOT EXISTS applied_events (
        post_id INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        applied_at_ms INTEGER NOT NULL,
        PRIMARY KEY (post_id, event_id)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS applied_events_by_time ON applied_events (applied_at_ms)",
)
KEEP_APPLIED_MS = 7 * 86_400_000
PRUNE_EVERY = 1000  # applies between two prunings of old ids


class SqliteStatsStore(SqliteStore):
    schema = SCHEMA

    def __init__(self, path: Path, *, clock: Callable[[], int] = now_ms) -> None:
        super().__init__(path)
        self._clock = clock
        self._since_pruned = 0

    async def apply(
        self, post_id: int, event_id: str, *, likes: int = 0, comments: int = 0
    ) -> Applied:
        async with self._db.transaction() as tx:
            now = self._clock()
            cursor = await tx.execute(
                "INSERT OR IGNORE INTO applied_events VALUES (?, ?, ?)", (post_id, event_id, now)
            )
            first_time = bool(cursor.rowcount)
            if first_time:
                await tx.execute(
                    "INSERT INTO post_stats (post_id, likes, comments) VALUES (?, ?, ?) "
                    "ON CONFLICT (post_id) DO UPDATE SET likes = likes + excluded.likes, "
                    "comments = comments + excluded.comments",
                    (post_id, likes, comments),
                )
            async with tx.execute(
                "SELECT likes, comments, deleted FROM post_stats WHERE post_id = ?", (post_id,)
            ) as rows:
                row = await rows.fetchone()
            self._since_pruned += 1
            if self._since_pruned >= PRUNE_EVERY:
                self._since_pruned = 0
                await tx.execute(
                    "DELETE FROM applied_events WHERE applied_at_ms < ?", (now - KEEP_APPLIED_MS,)
                )
        stats = (
            PostStats(row["likes"], row["comments"], bool(row["deleted"])) if row else PostStats()
        )
        return Applied(stats, first_time)

    async def mark_deleted(self, post_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO post_stats (post_id, deleted) VALUES (?, 1) "
                "ON CONFLICT (post_id) DO UPDATE SET deleted = 1",
                (post_id,),
            )

    async def get_many(self, post_ids: Sequence[int]) -> dict[int, PostStats]:
        unique = list(dict.fromkeys(post_ids))
        found = {post_id: PostStats() for post_id in unique}
        if unique:
            marks = ",".join("?" * len(unique))
            rows = await self._db.fetchall(
                "SELECT post_id, likes, comments, deleted FROM post_stats "
                f"WHERE post_id IN ({marks})",
                unique,
            )
            found.update(
                {
                    r["post_id"]: PostStats(r["likes"], r["comments"], bool(r["deleted"]))
                    for r in rows
                }
            )
        return found

"""Notifications on Cassandra (production): a table per access pattern.

- `notification_groups`: each user's entries by key (the entry an event adds to).
- `notifications_by_position`: the same entries in order, newest first, for pages. An entry
  that moves up is inserted at its new position before its row changes and deleted at the old
  one after, so a crash leaves at most a stale index row: pages skip (and delete) index rows
  whose entry has moved on.
- `notification_actors`: who is in an entry, one small partition per entry (idempotence and
  take-backs).
- `notification_actor_groups`: the groups a user is an actor of, for an erasure; written
  before the actor row and deleted after it.
- `notification_reads`: the read mark, written `USING TIMESTAMP <position>` so the highest
  mark wins in any order, with no read and no lightweight transaction. Positions are far above
  the clock's microseconds: a delete of a row here must give a timestamp above them.
"""

from __future__ import annotations

import asyncio

from common.cassandra import CassandraStore, Row
from feed_svc.models import NotificationGroup
from feed_svc.storage.notification_rows import COLUMNS, PLACEHOLDERS, group_from_row, group_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.notification_groups (
        recipient_id bigint, group_key text, position bigint, kind text, updated_at_ms bigint,
        actor_count bigint, recent_actor_ids list<bigint>, applied list<text>,
        post_id bigint, comment_id bigint, comment_text text,
        PRIMARY KEY (recipient_id, group_key))""",
    """CREATE TABLE IF NOT EXISTS {ks}.notifications_by_position (
        recipient_id bigint, position bigint, group_key text,
        PRIMARY KEY (recipient_id, position))
        WITH CLUSTERING ORDER BY (position DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.notification_actors (
        recipient_id bigint, group_key text, actor_id bigint,
        PRIMARY KEY ((recipient_id, group_key), actor_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.notification_reads (
        recipient_id bigint PRIMARY KEY, read_up_to bigint)""",
    """CREATE TABLE IF NOT EXISTS {ks}.notification_actor_groups (
        actor_id bigint, recipient_id bigint, group_key text,
        PRIMARY KEY (actor_id, recipient_id, group_key))""",
)


STATEMENTS = {
    "group": f"SELECT {COLUMNS} FROM {{ks}}.notification_groups "
    "WHERE recipient_id = ? AND group_key = ?",
    "put_group": f"INSERT INTO {{ks}}.notification_groups (recipient_id, {COLUMNS}) "
    f"VALUES (?, {PLACEHOLDERS})",
    "delete_group": "DELETE FROM {ks}.notification_groups WHERE recipient_id = ? AND group_key = ?",
    "delete_actors": "DELETE FROM {ks}.notification_actors "
    "WHERE recipient_id = ? AND group_key = ?",
    "all_groups": f"SELECT {COLUMNS} FROM {{ks}}.notification_groups WHERE recipient_id = ?",
    "index": "INSERT INTO {ks}.notifications_by_position (recipient_id, position, group_key) "
    "VALUES (?, ?, ?)",
    "unindex": "DELETE FROM {ks}.notifications_by_position WHERE recipient_id = ? AND position = ?",
    "positions": "SELECT position, group_key FROM {ks}.notifications_by_position "
    "WHERE recipient_id = ? AND position < ? LIMIT ?",
    "positions_above": "SELECT position FROM {ks}.notifications_by_position "
    "WHERE recipient_id = ? AND position > ? LIMIT ?",
    "actor": "SELECT actor_id FROM {ks}.notification_actors "
    "WHERE recipient_id = ? AND group_key = ? AND actor_id = ?",
    "add_actor": "INSERT INTO {ks}.notification_actors (recipient_id, group_key, actor_id) "
    "VALUES (?, ?, ?)",
    "remove_actor": "DELETE FROM {ks}.notification_actors "
    "WHERE recipient_id = ? AND group_key = ? AND actor_id = ?",
    "read_up_to": "SELECT read_up_to FROM {ks}.notification_reads WHERE recipient_id = ?",
    "group_actors": "SELECT actor_id FROM {ks}.notification_actors "
    "WHERE recipient_id = ? AND group_key = ?",
    "index_actor": "INSERT INTO {ks}.notification_actor_groups (actor_id, recipient_id, group_key) "
    "VALUES (?, ?, ?)",
    "unindex_actor": "DELETE FROM {ks}.notification_actor_groups "
    "WHERE actor_id = ? AND recipient_id = ? AND group_key = ?",
    "actor_groups": "SELECT recipient_id, group_key FROM {ks}.notification_actor_groups "
    "WHERE actor_id = ? LIMIT ?",
    "drop_groups": "DELETE FROM {ks}.notification_groups WHERE recipient_id = ?",
    "drop_positions": "DELETE FROM {ks}.notifications_by_position WHERE recipient_id = ?",
    # Above every position the mark was written with (see the module's docstring).
    "drop_read": "DELETE FROM {ks}.notification_reads USING TIMESTAMP 9223372036854775806 "
    "WHERE recipient_id = ?",
    "mark_read": "UPDATE {ks}.notification_reads USING TIMESTAMP ? SET read_up_to = ? "
    "WHERE recipient_id = ?",
}

_TOP = 2**63 - 1


# Entries whose actors an erasure deletes at once.
_CONCURRENT_GROUPS = 64


class CassandraNotificationStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def group(self, recipient_id: int, key: str) -> NotificationGroup | None:
        rows = await self.run("group", (recipient_id, key))
        return _group(rows[0]) if rows else None

    async def save_group(
        self, recipient_id: int, group: NotificationGroup, replaces: int | None
    ) -> None:
        await self.run("index", (recipient_id, group.position, group.key))
        await self.run("put_group", (recipient_id, *_row(group)))
        if replaces is not None and replaces != group.position:
            await self.run("unindex", (recipient_id, replaces))

    async def delete_group(self, recipient_id: int, group: NotificationGroup) -> None:
        await self.run("delete_group", (recipient_id, group.key))
        await self.run("unindex", (recipient_id, group.position))
        await self._delete_actors(recipient_id, group.key)

    async def _delete_actors(self, recipient_id: int, key: str) -> None:
        # The index rows first: found through the actor rows, which a crash in between
        # leaves for the retry (the other order would leave index rows nothing finds).
        actors = await self.run("group_actors", (recipient_id, key))
        await asyncio.gather(
            *(self.run("unindex_actor", (a["actor_id"], recipient_id, key)) for a in actors)
        )
        await self.run("delete_actors", (recipient_id, key))

    async def groups_with_actor(self, actor_id: int, limit: int) -> list[tuple[int, str]]:
        rows = await self.run("actor_groups", (actor_id, limit))
        return [(row["recipient_id"], row["group_key"]) for row in rows]

    async def erase_recipient(self, recipient_id: int) -> None:
        # The actors first, found through the groups: a crash in between leaves the groups
        # for the retry to find them again.
        groups = await self.run("all_groups", (recipient_id,))
        for start in range(0, len(groups), _CONCURRENT_GROUPS):
            await asyncio.gather(
                *(
                    self._delete_actors(recipient_id, row["group_key"])
                    for row in groups[start : start + _CONCURRENT_GROUPS]
                )
            )
        await self.run("drop_groups", (recipient_id,))
        await self.run("drop_positions", (recipient_id,))
        await self.run("drop_read", (recipient_id,))

    async def groups_about_post(self, recipient_id: int, post_id: int) -> list[NotificationGroup]:
        # A scan of the recipient's partition: deleting a post is rare, and an index by post
        # would cost a write on every notification.
        rows = await self.run("all_groups", (recipient_id,))
        return [group for group in map(_group, rows) if group.post_id == post_id]

    async def has_actor(self, recipient_id: int, key: str, actor_id: int) -> bool:
        return bool(await self.run("actor", (recipient_id, key, actor_id)))

    async def add_actor(self, recipient_id: int, key: str, actor_id: int) -> None:
        await self.run("index_actor", (actor_id, recipient_id, key))
        await self.run("add_actor", (recipient_id, key, actor_id))

    async def remove_actor(self, recipient_id: int, key: str, actor_id: int) -> None:
        await self.run("remove_actor", (recipient_id, key, actor_id))
        await self.run("unindex_actor", (actor_id, recipient_id, key))

    async def page(
        self, recipient_id: int, before: int | None, limit: int
    ) -> list[NotificationGroup]:
        found: list[NotificationGroup] = []
        position = before if before is not None else _TOP
        while len(found) < limit:
            wanted = limit - len(found)
            index = await self.run("positions", (recipient_id, position, wanted))
            groups = await asyncio.gather(
                *(self.group(recipient_id, row["group_key"]) for row in index)
            )
            for row, group in zip(index, groups, strict=True):
                if group is not None and group.position == row["position"]:
                    found.append(group)
                else:  # left by a crash between the writes of a move or a delete
                    await self.run("unindex", (recipient_id, row["position"]))
            if len(index) < wanted:
                break
            position = index[-1]["position"]
        return found

    async def count_above(self, recipient_id: int, position: int, cap: int) -> int:
        return len(await self.run("positions_above", (recipient_id, position, cap)))

    async def read_up_to(self, recipient_id: int) -> int:
        rows = await self.run("read_up_to", (recipient_id,))
        return int(rows[0]["read_up_to"]) if rows else 0

    async def mark_read(self, recipient_id: int, position: int) -> None:
        await self.run("mark_read", (position, position, recipient_id))


def _row(group: NotificationGroup) -> tuple[object, ...]:
    return group_row(group, list)


def _group(row: Row) -> NotificationGroup:
    return group_from_row(row, lambda value: list(value or ()))

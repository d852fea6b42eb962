"""The notification entry row every backend stores, and how it reads back. The two lists
are JSON text on SQLite and native lists on Cassandra: each backend passes its encoder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from feed_svc.models import NotificationGroup, NotificationKind

COLUMNS = (
    "group_key, position, kind, updated_at_ms, actor_count, recent_actor_ids, applied, "
    "post_id, comment_id, comment_text"
)
PLACEHOLDERS = ", ".join("?" for _ in COLUMNS.split(", "))


def group_row(group: NotificationGroup, encode: Callable[[list[Any]], Any]) -> tuple[Any, ...]:
    """Values in COLUMNS order."""
    return (
        group.key,
        group.position,
        group.kind.value,
        group.updated_at_ms,
        group.actor_count,
        encode(list(group.recent_actor_ids)),
        encode(list(group.applied)),
        group.post_id,
        group.comment_id,
        group.comment_text,
    )


def group_from_row(row: Any, decode: Callable[[Any], list[Any]]) -> NotificationGroup:
    return NotificationGroup(
        key=row["group_key"],
        kind=NotificationKind(row["kind"]),
        position=row["position"],
        updated_at_ms=row["updated_at_ms"],
        actor_count=row["actor_count"],
        recent_actor_ids=tuple(decode(row["recent_actor_ids"])),
        applied=tuple(decode(row["applied"])),
        post_id=row["post_id"],
        comment_id=row["comment_id"],
        comment_text=row["comment_text"],
    )

"""The post row every backend stores, and how it reads back."""

from __future__ import annotations

from typing import Any

from photoshare.media.v1 import media_pb2

from post_svc.models import Post, PostState

COLUMNS = (
    "id, author_id, caption, created_at_ms, state, failure_reason, media, published_at_ms, "
    "edited_at_ms"
)
PLACEHOLDERS = ", ".join("?" * len(COLUMNS.split(",")))


def post_row(post: Post) -> tuple[Any, ...]:
    """Values in COLUMNS order."""
    media = post.media.SerializeToString() if post.media is not None else None
    return (
        post.id,
        post.author_id,
        post.caption,
        post.created_at_ms,
        post.state.value,
        post.failure_reason,
        media,
        post.published_at_ms,
        post.edited_at_ms,
    )


def media_from(raw: bytes | None) -> media_pb2.Media | None:
    return media_pb2.Media.FromString(raw) if raw is not None else None


def post_from_row(row: Any) -> Post:
    """From a row of either backend (anything indexed by column name)."""
    return Post(
        id=row["id"],
        author_id=row["author_id"],
        caption=row["caption"] or "",
        created_at_ms=row["created_at_ms"],
        state=PostState(row["state"]),
        failure_reason=row["failure_reason"],
        media=media_from(row["media"]),
        published_at_ms=row["published_at_ms"],
        edited_at_ms=row["edited_at_ms"],
    )

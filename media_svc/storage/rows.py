"""The upload row every backend stores, and how it reads back."""

from __future__ import annotations

from typing import Any

from media_svc.models import Upload, UploadState

COLUMNS = (
    "upload_id, author_id, media_type, content_type, size_bytes, expires_at_ms, state, "
    "failure_reason, media, sha256, attempts, updated_at_ms"
)
PLACEHOLDERS = ", ".join("?" for _ in COLUMNS.split(", "))


def upload_row(upload: Upload, updated_at_ms: int) -> tuple[Any, ...]:
    """Values in COLUMNS order."""
    return (
        upload.upload_id,
        upload.author_id,
        upload.media_type,
        upload.content_type,
        upload.size_bytes,
        upload.expires_at_ms,
        upload.state.value,
        upload.failure_reason,
        upload.media,
        upload.sha256,
        upload.attempts,
        updated_at_ms,
    )


def upload_from_row(row: Any) -> Upload:
    """From a row of either backend (anything indexed by column name)."""
    return Upload(
        upload_id=row["upload_id"],
        author_id=row["author_id"],
        media_type=row["media_type"],
        content_type=row["content_type"],
        size_bytes=row["size_bytes"],
        expires_at_ms=row["expires_at_ms"],
        state=UploadState(row["state"]),
        failure_reason=row["failure_reason"],
        media=row["media"],
        sha256=row["sha256"],
        attempts=row["attempts"] or 0,
        updated_at_ms=row["updated_at_ms"] or 0,
    )

"""The session and erasure rows every backend stores, and how they read back."""

from __future__ import annotations

from typing import Any

from graph_svc.models import Erasure, Session


def session_from_row(row: Any) -> Session:
    """From a SQLite or Cassandra row: both are read by column name."""
    return Session(
        row["session_id"],
        row["user_id"],
        bytes(row["token_hash"]),
        row["label"],
        row["created_at_ms"],
        row["last_used_at_ms"],
    )


def erasure_row(erasure: Erasure) -> tuple[int, str, str, int, int]:
    """Values in (user_id, username, step, requested_at_ms, release_at_ms) order."""
    return (
        erasure.user_id,
        erasure.username,
        erasure.step,
        erasure.requested_at_ms,
        erasure.release_at_ms,
    )


def erasure_from_row(row: Any) -> Erasure:
    return Erasure(
        row["user_id"], row["username"], row["step"], row["requested_at_ms"], row["release_at_ms"]
    )

"""The session row every backend stores, and how it reads back."""

from __future__ import annotations

from typing import Any

from graph_svc.models import Session


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

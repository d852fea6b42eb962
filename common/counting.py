"""What domain code counts, without knowing where the counts go (Prometheus, in production:
common/metrics.py): domain modules take a counter and call it; tests pass nothing."""

from __future__ import annotations

from typing import Protocol


class CacheCounter(Protocol):
    def count(self, hits: int, misses: int) -> None:
        """One lookup of several keys: how many the cache had, and how many it did not."""
        ...


class _NotCounted:
    def count(self, hits: int, misses: int) -> None:
        return None


NOT_COUNTED: CacheCounter = _NotCounted()

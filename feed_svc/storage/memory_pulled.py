"""The pulled authors in process memory (embedded default), lost on a restart together with
the in-process timelines that depend on them."""

from __future__ import annotations

from collections.abc import Sequence

from feed_svc.models import PulledAuthor


class InMemoryPulledAuthors:
    def __init__(self) -> None:
        self._pulled: dict[int, PulledAuthor] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._pulled.clear()

    async def get(self, author_ids: Sequence[int]) -> dict[int, PulledAuthor]:
        return {a: self._pulled[a] for a in author_ids if a in self._pulled}

    async def put(self, author_id: int, pulled: PulledAuthor) -> None:
        self._pulled[author_id] = pulled

    async def remove(self, author_id: int) -> None:
        self._pulled.pop(author_id, None)

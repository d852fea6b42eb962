"""Hydrated posts cached in process memory (embedded default)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence


class InMemoryPostCache:
    def __init__(self, *, max_posts: int = 100_000) -> None:
        self._posts: OrderedDict[int, bytes] = OrderedDict()
        self._max_posts = max_posts

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._posts.clear()

    async def get_posts(self, post_ids: Sequence[int]) -> dict[int, bytes]:
        found = {}
        for post_id in post_ids:
            data = self._posts.get(post_id)
            if data is not None:
                self._posts.move_to_end(post_id)
                found[post_id] = data
        return found

    async def drop_posts(self, post_ids: Sequence[int]) -> None:
        for post_id in post_ids:
            self._posts.pop(post_id, None)

    async def put_posts(self, posts: dict[int, bytes]) -> None:
        for post_id, data in posts.items():
            self._posts.setdefault(post_id, data)
        self._evict()

    async def refresh_posts(self, posts: dict[int, bytes]) -> None:
        self._posts.update(posts)
        self._evict()

    def _evict(self) -> None:
        while len(self._posts) > self._max_posts:
            self._posts.popitem(last=False)

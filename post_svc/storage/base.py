"""The post store interface; every backend passes tests/contract/test_post_store.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from photoshare.media.v1 import media_pb2

from post_svc.models import FeedKey, Post


class PostStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def insert(self, post: Post) -> None: ...

    async def get_many(self, ids: Sequence[int]) -> dict[int, Post]: ...

    async def mark_published(
        self, post_id: int, media: media_pb2.Media, published_at_ms: int
    ) -> Post | None:
        """PENDING_MEDIA -> PUBLISHED. Returns the post as it now is (a post already
        published keeps its first publish time); None for an unknown post."""
        ...

    async def update_media(self, post_id: int, media: media_pb2.Media) -> Post | None:
        """Replaces a published post's media (renditions were added); None when the post
        is not published."""
        ...

    async def mark_failed(self, post_id: int, reason: str) -> Post | None:
        """PENDING_MEDIA -> FAILED; other states are left alone."""
        ...

    async def published_by_authors(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> list[Post]:
        """Published posts of these authors strictly older than `before`, newest first."""
        ...

"""Post rules: what a new post may carry, how it is published, how grids are paged."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Protocol

from photoshare.media.v1 import media_pb2

from common.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    check_page_size,
    check_request_id,
    idempotency_key_reused,
)
from common.ids import IdGenerator, now_ms
from common.signing import KeysetCursor, Signer
from post_svc.models import FeedKey, MediaSpec, Post, PostPage, PostState, UploadTarget
from post_svc.storage.base import PostStore

MAX_CAPTION_CHARS = 2200
EDITABLE = ("caption",)  # media never changes: a new photo is a new post
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_BATCH = 500
MAX_AUTHORS = 20_000
STREAM_BATCH = 100


class UploadSlots(Protocol):
    async def open_upload(self, post_id: int, author_id: int, spec: MediaSpec) -> UploadTarget:
        """Asks the media service for a signed upload URL; it validates the spec."""
        ...

    async def close_upload(self, post_id: int) -> None:
        """The post was deleted: its upload URL stops taking bytes (410)."""
        ...


class PostEvents(Protocol):
    async def post_published(self, post_id: int, author_id: int, published_at_ms: int) -> None: ...

    async def post_updated(self, post_id: int, author_id: int) -> None: ...

    async def post_deleted(
        self, post_id: int, author_id: int, published_at_ms: int | None
    ) -> None: ...


class Posts:
    """Creating, reading and publishing posts.

    Example:
        posts = Posts(store, media_client, events, ids, Signer(secret, purpose="grid"))
        spec = MediaSpec("PHOTO", "image/jpeg", 1234)
        post, upload = await posts.create(author_id, "sunset", spec)
    """

    def __init__(
        self,
        store: PostStore,
        uploads: UploadSlots,
        events: PostEvents,
        ids: IdGenerator,
        cursor_signer: Signer,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._uploads = uploads
        self._events = events
        self._ids = ids
        self._cursors = KeysetCursor(cursor_signer, what="cursor")
        self._clock = clock

    async def create(
        self, author_id: int, caption: str, media: MediaSpec | None, request_id: str = ""
    ) -> tuple[Post, UploadTarget]:
        """A post waiting for its media, and where to send it. With a request id, a retry
        (the first answer lost) gets the same post and upload target; the id with another
        caption or media is refused."""
        _check_caption(caption)
        if media is None:
            raise InvalidArgument("media is required: a post is a photo or a video", field="media")
        post = Post(
            id=self._ids.next_id(),
            author_id=author_id,
            caption=caption,
            created_at_ms=self._clock(),
        )
        if request_id:
            post = await self._remembered(post, request_id, media)
        # Slot first: if the media service refuses the spec, no post is left dangling. Both
        # calls are idempotent for one post id, so a retry finishes what a crash cut short.
        upload = await self._uploads.open_upload(post.id, author_id, media)
        await self._store.insert(post)
        return post, upload

    async def _remembered(self, post: Post, request_id: str, media: MediaSpec) -> Post:
        """The post this request id was first used for, or this one, remembered now."""
        check_request_id(request_id)
        fingerprint = hashlib.sha256(
            repr((post.caption, media.type, media.content_type, media.size_bytes)).encode()
        ).hexdigest()
        post_id, first = await self._store.remember_request(
            post.author_id, request_id, post.id, fingerprint
        )
        if first != fingerprint:
            raise idempotency_key_reused("for another post", "post")
        if post_id == post.id:
            return post
        found = await self._store.get_many([post_id])
        return found.get(post_id) or replace(post, id=post_id)

    async def get(self, post_id: int, viewer_id: int | None) -> Post:
        """A published post, or the viewer's own in any state: a draft (still uploading, or
        failed) is private to its author, and anyone else is told it does not exist."""
        found = await self._store.get_many([post_id])
        post = found.get(post_id)
        if (
            post is None
            or post.state is PostState.DELETED
            or (post.state is not PostState.PUBLISHED and post.author_id != viewer_id)
        ):
            raise NotFound(
                f"post {post_id} does not exist",
                reason="POST_NOT_FOUND",
                metadata={"postId": str(post_id)},
            )
        return post

    async def edit(self, post_id: int, editor_id: int, caption: str, paths: Sequence[str]) -> Post:
        """Changes the caption (the only editable field) of the editor's own post. A
        published post's new caption reaches every reader through `PostUpdated`."""
        unknown = sorted(set(paths) - set(EDITABLE))
        if unknown:
            raise InvalidArgument(
                f"update_mask names {', '.join(unknown)[:200]}; only the caption can be "
                "changed (a post's media never changes: post it anew)",
                reason="UNKNOWN_MASK_PATH",
                field="update_mask",
            )
        _check_caption(caption)
        post = await self.get(post_id, editor_id)
        if post.author_id != editor_id:
            raise PermissionDenied("only its author may edit a post", reason="NOT_YOUR_POST")
        edited = await self._store.update_caption(post_id, caption, self._clock())
        if edited is None:
            raise NotFound(f"post {post_id} does not exist", reason="POST_NOT_FOUND")
        if edited.state is PostState.PUBLISHED:
            await self._events.post_updated(edited.id, edited.author_id)
        return edited

    async def batch_get(self, ids: Sequence[int]) -> list[Post]:
        if len(ids) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} ids per batch", field="ids")
        found = await self._store.get_many(ids)
        return [found[i] for i in ids if i in found and found[i].state is not PostState.DELETED]

    async def user_posts(self, user_id: int, limit: int, cursor: str) -> PostPage:
        size = check_page_size(
            limit, name="limit", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
        )
        before = self._cursors.decode(cursor, user_id) if cursor else None
        posts = await self._store.published_by_authors([user_id], before, size + 1)
        more = len(posts) > size
        posts = posts[:size]
        next_cursor = self._cursors.encode(user_id, posts[-1].feed_key) if more else None
        return PostPage(posts, next_cursor)

    async def recent_by_authors(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> AsyncIterator[list[Post]]:
        """Published posts of the authors, newest first, in batches, `limit` in all."""
        if len(author_ids) > MAX_AUTHORS:
            raise InvalidArgument(f"at most {MAX_AUTHORS} authors per call", field="author_ids")
        if limit <= 0:
            raise InvalidArgument("limit must be positive", field="limit")
        remaining = limit
        while remaining > 0 and author_ids:
            want = min(STREAM_BATCH, remaining)
            batch = await self._store.published_by_authors(author_ids, before, want)
            if batch:
                yield batch
            if len(batch) < want:
                return
            remaining -= len(batch)
            before = batch[-1].feed_key

    async def mark_published(self, post_id: int, media: media_pb2.Media) -> None:
        post = await self._store.mark_published(post_id, media, self._clock())
        if post is None or post.state is not PostState.PUBLISHED:
            return
        # Sent again on a redelivery too: the publish may have been done before a crash
        # that lost the event. Consumers of PostPublished are idempotent.
        assert post.published_at_ms is not None
        await self._events.post_published(post.id, post.author_id, post.published_at_ms)

    async def update_media(self, post_id: int, media: media_pb2.Media) -> None:
        post = await self._store.update_media(post_id, media)
        if post is not None:
            await self._events.post_updated(post.id, post.author_id)

    async def mark_failed(self, post_id: int, reason: str) -> None:
        await self._store.mark_failed(post_id, reason)


def _check_caption(caption: str) -> None:
    if len(caption) > MAX_CAPTION_CHARS:
        raise InvalidArgument(
            f"caption is {len(caption)} characters; at most {MAX_CAPTION_CHARS} are allowed",
            reason="CAPTION_TOO_LONG",
            field="caption",
        )

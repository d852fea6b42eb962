"""The post store on Cassandra: posts by id, and published posts by author, newest first."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from photoshare.media.v1 import media_pb2

from common.cassandra import CassandraStore, Row
from post_svc.models import FeedKey, Post, PostState
from post_svc.storage.base import ANONYMOUS, REQUEST_TTL_S
from post_svc.storage.rows import COLUMNS, PLACEHOLDERS, media_from, post_from_row, post_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.posts (
        id bigint PRIMARY KEY, author_id bigint, caption text, created_at_ms bigint,
        state text, failure_reason text, media blob, published_at_ms bigint)""",
    # The profile grid and the feed's pull: one partition per author, newest first. A
    # published post changes rarely (AVIF added, a caption edited), so the row carries all of
    # it, rewritten on each change, and a read needs no join.
    """CREATE TABLE IF NOT EXISTS {ks}.published_by_author (
        author_id bigint, published_at_ms bigint, post_id bigint,
        caption text, created_at_ms bigint, media blob,
        PRIMARY KEY (author_id, published_at_ms, post_id))
        WITH CLUSTERING ORDER BY (published_at_ms DESC, post_id DESC)""",
    "ALTER TABLE {ks}.posts ADD edited_at_ms bigint",
    "ALTER TABLE {ks}.published_by_author ADD edited_at_ms bigint",
    # Every post of an author, in any state, until it is deleted: what an erasure deletes.
    """CREATE TABLE IF NOT EXISTS {ks}.posts_by_author (
        author_id bigint, post_id bigint, PRIMARY KEY (author_id, post_id))""",
    # Creating requests by the author's request id, for retries; rows expire after 24 h.
    # One partition per author, so that an erasure can delete them (the former table,
    # post_requests, was keyed by request too; its rows expired within a day).
    """CREATE TABLE IF NOT EXISTS {ks}.requests_by_author (
        author_id bigint, request_id text, post_id bigint, fingerprint text,
        PRIMARY KEY (author_id, request_id))""",
)

STATEMENTS = {
    "remember_request": "INSERT INTO {ks}.requests_by_author "
    "(author_id, request_id, post_id, fingerprint) VALUES (?, ?, ?, ?) "
    f"IF NOT EXISTS USING TTL {REQUEST_TTL_S}",
    # Conditional like every other write to a post: Paxos orders them. A plain write takes a
    # microsecond client timestamp, a conditional one a millisecond-grained ballot, so a
    # state change in the same millisecond as a plain insert could be shadowed by it.
    "insert": f"INSERT INTO {{ks}}.posts ({COLUMNS}) VALUES ({PLACEHOLDERS}) IF NOT EXISTS",
    "get": f"SELECT {COLUMNS} FROM {{ks}}.posts WHERE id = ?",
    "author_index": "INSERT INTO {ks}.posts_by_author (author_id, post_id) VALUES (?, ?)",
    "author_posts": "SELECT post_id FROM {ks}.posts_by_author "
    "WHERE author_id = ? AND post_id > ? LIMIT ?",
    "author_unindex": "DELETE FROM {ks}.posts_by_author WHERE author_id = ? AND post_id = ?",
    "publish": "UPDATE {ks}.posts SET state = ?, media = ?, published_at_ms = ? "
    "WHERE id = ? IF state = ?",
    "fail": "UPDATE {ks}.posts SET state = ?, failure_reason = ? WHERE id = ? IF state = ?",
    "update_media": "UPDATE {ks}.posts SET media = ? WHERE id = ? IF state = ?",
    "forget": "UPDATE {ks}.posts SET author_id = ?, caption = null, failure_reason = null, "
    "media = null, edited_at_ms = null WHERE id = ? IF state = ?",
    "forget_requests": "DELETE FROM {ks}.requests_by_author WHERE author_id = ?",
    "mark_deleted": "UPDATE {ks}.posts SET state = ? WHERE id = ? IF EXISTS",
    "unindex": "DELETE FROM {ks}.published_by_author "
    "WHERE author_id = ? AND published_at_ms = ? AND post_id = ?",
    "update_caption": "UPDATE {ks}.posts SET caption = ?, edited_at_ms = ? WHERE id = ? IF EXISTS",
    "index": "INSERT INTO {ks}.published_by_author "
    "(author_id, published_at_ms, post_id, caption, created_at_ms, media, edited_at_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "by_author": "SELECT author_id, published_at_ms, post_id, caption, created_at_ms, media, "
    "edited_at_ms FROM {ks}.published_by_author "
    "WHERE author_id = ? AND (published_at_ms, post_id) < (?, ?) LIMIT ?",
}

_NEWEST = (2**62, 2**62)
# Authors read at once when pulling for a feed; each is one single-partition query.
_CONCURRENT_AUTHORS = 64


class CassandraPostStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def insert(self, post: Post) -> None:
        # The author's index first: an entry whose post a crash kept from being written is
        # skipped (and dropped) when read, a post missing from it would escape an erasure.
        await self.run("author_index", (post.author_id, post.id))
        rows = await self.run("insert", post_row(post))
        if not rows[0]["[applied]"] and rows[0]["author_id"] != post.author_id:
            # Ids are unique by construction: the same id is a retry of this very post, and
            # anything else is a bug, not a user's mistake.
            raise RuntimeError(f"post id {post.id} is already taken")

    async def remember_request(
        self, author_id: int, request_id: str, post_id: int, fingerprint: str
    ) -> tuple[int, str]:
        rows = await self.run("remember_request", (author_id, request_id, post_id, fingerprint))
        row = rows[0]
        if row["[applied]"]:
            return post_id, fingerprint
        return int(row["post_id"]), str(row["fingerprint"])

    async def get_many(self, ids: Sequence[int]) -> dict[int, Post]:
        results = await asyncio.gather(*(self.run("get", (i,)) for i in dict.fromkeys(ids)))
        return {rows[0]["id"]: post_from_row(rows[0]) for rows in results if rows}

    async def mark_published(
        self, post_id: int, media: media_pb2.Media, published_at_ms: int
    ) -> Post | None:
        await self.run(
            "publish",
            (
                PostState.PUBLISHED.value,
                media.SerializeToString(),
                published_at_ms,
                post_id,
                PostState.PENDING_MEDIA.value,
            ),
        )
        post = await self._get(post_id)
        if post is not None and post.state is PostState.PUBLISHED:
            # Also on a redelivery: the index row may be what a crash left unwritten.
            await self._index(post)
        return post

    async def update_media(self, post_id: int, media: media_pb2.Media) -> Post | None:
        if not await self.applied(
            "update_media", (media.SerializeToString(), post_id, PostState.PUBLISHED.value)
        ):
            return None
        post = await self._get(post_id)
        if post is not None and post.state is PostState.PUBLISHED:
            await self._index(post)
        return post

    async def _index(self, post: Post) -> None:
        assert post.published_at_ms is not None
        assert post.media is not None
        await self.run(
            "index",
            (
                post.author_id,
                post.published_at_ms,
                post.id,
                post.caption,
                post.created_at_ms,
                post.media.SerializeToString(),
                post.edited_at_ms,
            ),
        )

    async def update_caption(self, post_id: int, caption: str, edited_at_ms: int) -> Post | None:
        if not await self.applied("update_caption", (caption, edited_at_ms, post_id)):
            return None
        post = await self._get(post_id)
        if post is not None and post.state is PostState.PUBLISHED:
            await self._index(post)  # the grid's copy too
        return post

    async def mark_deleted(self, post_id: int) -> Post | None:
        await self.run("mark_deleted", (PostState.DELETED.value, post_id))
        # Read after the write: a publish ordered before it has set the time to unindex.
        post = await self._get(post_id)
        if post is not None and post.published_at_ms is not None:
            await self.run("unindex", (post.author_id, post.published_at_ms, post.id))
        return post

    async def of_author(self, author_id: int, limit: int) -> list[Post]:
        async def resolve(rows: list[Row]) -> list[Post | None]:
            posts = await self.get_many([r["post_id"] for r in rows])
            found = [posts.get(r["post_id"]) for r in rows]
            # The entry of a forgotten tombstone is one a crash left behind: dropped.
            return [p if p is not None and p.author_id == author_id else None for p in found]

        return await self.live_entries(
            "author_posts", author_id, "post_id", limit, resolve, "author_unindex"
        )

    async def forget(self, post_id: int) -> None:
        post = await self._get(post_id)
        if post is None or post.state is not PostState.DELETED:
            return
        await self.run("forget", (ANONYMOUS, post_id, PostState.DELETED.value))
        # Last: until the tombstone is anonymous, the index must still find it.
        if post.author_id != ANONYMOUS:
            await self.run("author_unindex", (post.author_id, post_id))

    async def forget_requests(self, author_id: int) -> None:
        await self.run("forget_requests", (author_id,))

    async def mark_failed(self, post_id: int, reason: str) -> Post | None:
        await self.run(
            "fail", (PostState.FAILED.value, reason, post_id, PostState.PENDING_MEDIA.value)
        )
        return await self._get(post_id)

    async def _get(self, post_id: int) -> Post | None:
        rows = await self.run("get", (post_id,))
        return post_from_row(rows[0]) if rows else None

    async def published_by_authors(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> list[Post]:
        bound = before or _NEWEST
        gate = asyncio.Semaphore(_CONCURRENT_AUTHORS)

        async def newest_of(author_id: int) -> list[Row]:
            async with gate:
                return await self.run("by_author", (author_id, *bound, limit))

        results = await asyncio.gather(*(newest_of(a) for a in dict.fromkeys(author_ids)))
        posts = [_published(row) for rows in results for row in rows]
        posts.sort(key=lambda p: p.feed_key, reverse=True)
        return posts[:limit]


def _published(row: Row) -> Post:
    return Post(
        id=row["post_id"],
        author_id=row["author_id"],
        caption=row["caption"] or "",
        created_at_ms=row["created_at_ms"],
        state=PostState.PUBLISHED,
        media=media_from(row["media"]),
        published_at_ms=row["published_at_ms"],
        edited_at_ms=row["edited_at_ms"],
    )

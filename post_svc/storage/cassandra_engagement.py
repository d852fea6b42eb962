"""Likes and comments on Cassandra: a table per access pattern.

- `like_by_post_user`: one tiny partition per (post, user), so "has the viewer liked this" is
  a point read whatever the post's size; `IF NOT EXISTS` makes concurrent likes agree on one.
- `likes_by_post`: the likers, newest first, for the list.
- `comments_by_post`: a post's comments in id (time) order, for paging under inserts.
- `likes_by_user`, `comments_by_author`: what a user liked and wrote, for an erasure; written
  before the rows they point to and deleted after them, so a crash leaves at most an entry
  that points to nothing (skipped and dropped when read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from common.cassandra import CassandraStore, Row
from post_svc.models import Comment, Like

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.like_by_post_user (
        post_id bigint, user_id bigint, liked_at_ms bigint,
        PRIMARY KEY ((post_id, user_id)))""",
    """CREATE TABLE IF NOT EXISTS {ks}.likes_by_post (
        post_id bigint, liked_at_ms bigint, user_id bigint,
        PRIMARY KEY (post_id, liked_at_ms, user_id))
        WITH CLUSTERING ORDER BY (liked_at_ms DESC, user_id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.comments_by_post (
        post_id bigint, comment_id bigint, author_id bigint, text text, created_at_ms bigint,
        PRIMARY KEY (post_id, comment_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.likes_by_user (
        user_id bigint, post_id bigint, PRIMARY KEY (user_id, post_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.comments_by_author (
        author_id bigint, comment_id bigint, post_id bigint,
        PRIMARY KEY (author_id, comment_id))""",
)

STATEMENTS = {
    "claim_like": "INSERT INTO {ks}.like_by_post_user (post_id, user_id, liked_at_ms) "
    "VALUES (?, ?, ?) IF NOT EXISTS",
    "like": "SELECT liked_at_ms FROM {ks}.like_by_post_user WHERE post_id = ? AND user_id = ?",
    "release_like": "DELETE FROM {ks}.like_by_post_user WHERE post_id = ? AND user_id = ? "
    "IF liked_at_ms = ?",
    "list_like": "INSERT INTO {ks}.likes_by_post (post_id, liked_at_ms, user_id) VALUES (?, ?, ?)",
    "unlist_like": "DELETE FROM {ks}.likes_by_post "
    "WHERE post_id = ? AND liked_at_ms = ? AND user_id = ?",
    "likes_page": "SELECT liked_at_ms, user_id FROM {ks}.likes_by_post "
    "WHERE post_id = ? AND (liked_at_ms, user_id) < (?, ?) LIMIT ?",
    "add_comment": "INSERT INTO {ks}.comments_by_post "
    "(post_id, comment_id, author_id, text, created_at_ms) VALUES (?, ?, ?, ?, ?)",
    "comment": "SELECT post_id, comment_id, author_id, text, created_at_ms "
    "FROM {ks}.comments_by_post WHERE post_id = ? AND comment_id = ?",
    "comments_page": "SELECT post_id, comment_id, author_id, text, created_at_ms "
    "FROM {ks}.comments_by_post WHERE post_id = ? AND comment_id > ? LIMIT ?",
    "all_likers": "SELECT user_id FROM {ks}.likes_by_post WHERE post_id = ?",
    "drop_like": "DELETE FROM {ks}.like_by_post_user WHERE post_id = ? AND user_id = ?",
    "drop_likes": "DELETE FROM {ks}.likes_by_post WHERE post_id = ?",
    "drop_comments": "DELETE FROM {ks}.comments_by_post WHERE post_id = ?",
    "delete_comment": "DELETE FROM {ks}.comments_by_post WHERE post_id = ? AND comment_id = ?",
    "index_like": "INSERT INTO {ks}.likes_by_user (user_id, post_id) VALUES (?, ?)",
    "unindex_like": "DELETE FROM {ks}.likes_by_user WHERE user_id = ? AND post_id = ?",
    "user_likes": "SELECT post_id FROM {ks}.likes_by_user WHERE user_id = ? AND post_id > ? "
    "LIMIT ?",
    "index_comment": "INSERT INTO {ks}.comments_by_author (author_id, comment_id, post_id) "
    "VALUES (?, ?, ?)",
    "unindex_comment": "DELETE FROM {ks}.comments_by_author WHERE author_id = ? AND comment_id = ?",
    "author_comments": "SELECT comment_id, post_id FROM {ks}.comments_by_author "
    "WHERE author_id = ? AND comment_id > ? LIMIT ?",
    "all_comments": "SELECT comment_id, author_id FROM {ks}.comments_by_post WHERE post_id = ?",
}

_NEWEST = (2**62, 2**62)


class CassandraEngagementStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def add_like(self, post_id: int, user_id: int, at_ms: int) -> Like:
        await self.run("index_like", (user_id, post_id))
        rows = await self.run("claim_like", (post_id, user_id, at_ms))
        # Not applied: the answer carries the like that is there.
        liked_at = at_ms if rows[0]["[applied]"] else rows[0]["liked_at_ms"]
        like = Like(post_id, user_id, liked_at)
        # Also for an existing like: a crash may have cut its listing row short.
        await self.run("list_like", (post_id, like.liked_at_ms, user_id))
        return like

    async def get_like(self, post_id: int, user_id: int) -> Like | None:
        rows = await self.run("like", (post_id, user_id))
        return Like(post_id, user_id, rows[0]["liked_at_ms"]) if rows else None

    async def liked_among(self, user_id: int, post_ids: Sequence[int]) -> set[int]:
        unique = list(dict.fromkeys(post_ids))
        found = await asyncio.gather(*(self.run("like", (p, user_id)) for p in unique))
        return {post_id for post_id, rows in zip(unique, found, strict=True) if rows}

    async def remove_like(self, like: Like) -> None:
        await self.run("release_like", (like.post_id, like.user_id, like.liked_at_ms))
        await self.run("unlist_like", (like.post_id, like.liked_at_ms, like.user_id))
        # The user's index entry stays while a like of theirs (a later one) is there.
        if not await self.run("like", (like.post_id, like.user_id)):
            await self.run("unindex_like", (like.user_id, like.post_id))

    async def likes(self, post_id: int, before: tuple[int, int] | None, limit: int) -> list[Like]:
        rows = await self.run("likes_page", (post_id, *(before or _NEWEST), limit))
        return [Like(post_id, r["user_id"], r["liked_at_ms"]) for r in rows]

    async def add_comment(self, comment: Comment) -> None:
        await self.run("index_comment", (comment.author_id, comment.id, comment.post_id))
        await self.run(
            "add_comment",
            (
                comment.post_id,
                comment.id,
                comment.author_id,
                comment.text,
                comment.created_at_ms,
            ),
        )

    async def get_comment(self, post_id: int, comment_id: int) -> Comment | None:
        rows = await self.run("comment", (post_id, comment_id))
        return _comment(rows[0]) if rows else None

    async def comments(self, post_id: int, after_id: int, limit: int) -> list[Comment]:
        return [_comment(r) for r in await self.run("comments_page", (post_id, after_id, limit))]

    async def delete_comment(self, post_id: int, comment_id: int) -> None:
        comment = await self.get_comment(post_id, comment_id)
        await self.run("delete_comment", (post_id, comment_id))
        if comment is not None:
            await self.run("unindex_comment", (comment.author_id, comment_id))

    async def likes_of_user(self, user_id: int, limit: int) -> list[Like]:
        async def resolve(rows: list[Row]) -> list[Like | None]:
            return list(await asyncio.gather(*(self.get_like(r["post_id"], user_id) for r in rows)))

        return await self.live_entries(
            "user_likes", user_id, "post_id", limit, resolve, "unindex_like"
        )

    async def comments_of_author(self, author_id: int, limit: int) -> list[Comment]:
        async def resolve(rows: list[Row]) -> list[Comment | None]:
            found = (self.get_comment(r["post_id"], r["comment_id"]) for r in rows)
            return list(await asyncio.gather(*found))

        return await self.live_entries(
            "author_comments", author_id, "comment_id", limit, resolve, "unindex_comment"
        )

    async def delete_post(self, post_id: int) -> None:
        # The per-user rows first, found through the list: if a crash comes in between, the
        # list is still there for the retry. Then one partition deletion each.
        likers = [row["user_id"] for row in await self.run("all_likers", (post_id,))]
        gate = asyncio.Semaphore(64)

        async def drop(user_id: int) -> None:
            async with gate:
                await self.run("drop_like", (post_id, user_id))
                await self.run("unindex_like", (user_id, post_id))

        await asyncio.gather(*(drop(user_id) for user_id in likers))
        comments = await self.run("all_comments", (post_id,))
        await asyncio.gather(
            *(self.run("unindex_comment", (c["author_id"], c["comment_id"])) for c in comments)
        )
        await self.run("drop_likes", (post_id,))
        await self.run("drop_comments", (post_id,))


def _comment(row: Row) -> Comment:
    return Comment(
        row["comment_id"], row["post_id"], row["author_id"], row["text"], row["created_at_ms"]
    )

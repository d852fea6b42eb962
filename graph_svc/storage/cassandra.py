"""The graph store on Cassandra: one table per access pattern."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from photoshare.media.v1 import media_pb2

from common.cassandra import CassandraStore
from common.errors import AlreadyExists
from graph_svc.models import Edge, Erasure, Followee, Signup, User
from graph_svc.storage.base import SIGNUP_TTL_S
from graph_svc.storage.rows import erasure_from_row, erasure_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.users (
        id bigint PRIMARY KEY, username text, created_at_ms bigint)""",
    # Uniqueness of names is a lightweight transaction on this table.
    """CREATE TABLE IF NOT EXISTS {ks}.users_by_username (
        username text PRIMARY KEY, id bigint)""",
    # The edge itself: existence checks, FilterFollowed, followees in id order.
    """CREATE TABLE IF NOT EXISTS {ks}.follows (
        follower_id bigint, followed_id bigint, created_at_ms bigint,
        PRIMARY KEY (follower_id, followed_id))""",
    # Lists, newest follow first.
    """CREATE TABLE IF NOT EXISTS {ks}.followers_by_time (
        user_id bigint, created_at_ms bigint, follower_id bigint,
        PRIMARY KEY (user_id, created_at_ms, follower_id))
        WITH CLUSTERING ORDER BY (created_at_ms DESC, follower_id DESC)""",
    """CREATE TABLE IF NOT EXISTS {ks}.following_by_time (
        user_id bigint, created_at_ms bigint, followed_id bigint,
        PRIMARY KEY (user_id, created_at_ms, followed_id))
        WITH CLUSTERING ORDER BY (created_at_ms DESC, followed_id DESC)""",
    # Fan-out scans followers in id order, chunk by chunk.
    """CREATE TABLE IF NOT EXISTS {ks}.followers_by_id (
        user_id bigint, follower_id bigint, PRIMARY KEY (user_id, follower_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.user_counters (
        user_id bigint PRIMARY KEY, followers counter, following counter, posts counter)""",
    # Apart from users so that a profile is changed without touching the identity.
    """CREATE TABLE IF NOT EXISTS {ks}.profiles (
        user_id bigint PRIMARY KEY, display_name text, bio text)""",
    # Written USING TIMESTAMP <upload id>: of two uploads, the later one wins in any order,
    # with no read and no lightweight transaction. A success also clears the failure of an
    # earlier upload (the same timestamp rule decides). Upload ids are far above the clock's
    # microseconds, so a delete of a row here must give a timestamp above every upload id.
    """CREATE TABLE IF NOT EXISTS {ks}.avatars (
        user_id bigint PRIMARY KEY, media blob, failure_reason text)""",
    # Sign-ups by request id, for retries; rows expire after 24 h (SIGNUP_TTL_S).
    """CREATE TABLE IF NOT EXISTS {ks}.signups (
        request_id text PRIMARY KEY, user_id bigint, username text, api_token text,
        created_at_ms bigint)""",
    # The request ids of a user's sign-ups, so that an erasure finds the rows above.
    """CREATE TABLE IF NOT EXISTS {ks}.signups_by_user (
        user_id bigint, request_id text, PRIMARY KEY (user_id, request_id))""",
    # Follows by the follower's request id, for retries (24 h), one partition per follower
    # so that an erasure can delete them (the former follow_requests was keyed by request
    # too; its rows expired within a day).
    """CREATE TABLE IF NOT EXISTS {ks}.follow_requests_by_follower (
        follower_id bigint, request_id text, followed_id bigint,
        PRIMARY KEY (follower_id, request_id))""",
    """CREATE TABLE IF NOT EXISTS {ks}.counted_posts (
        post_id bigint PRIMARY KEY, author_id bigint)""",
    # Set when the account's erasure began: from then on no read finds the user.
    "ALTER TABLE {ks}.users ADD erased_at_ms bigint",
    # Erasures not finished, in one partition: there are few at a time, and the runner
    # lists them all.
    """CREATE TABLE IF NOT EXISTS {ks}.erasures (
        shard int, user_id bigint, username text, step text, requested_at_ms bigint,
        release_at_ms bigint, PRIMARY KEY (shard, user_id))""",
)

_ERASURE_COLUMNS = "shard, user_id, username, step, requested_at_ms, release_at_ms"
STATEMENTS = {
    "claim_username": "INSERT INTO {ks}.users_by_username (username, id) VALUES (?, ?) "
    "IF NOT EXISTS",
    "insert_user": "INSERT INTO {ks}.users (id, username, created_at_ms) VALUES (?, ?, ?)",
    "user": "SELECT id, username, created_at_ms, erased_at_ms FROM {ks}.users WHERE id = ?",
    "mark_erased": "UPDATE {ks}.users SET erased_at_ms = ? WHERE id = ? IF EXISTS",
    "delete_user": "DELETE FROM {ks}.users WHERE id = ?",
    "release_username": "DELETE FROM {ks}.users_by_username WHERE username = ? IF id = ?",
    "delete_profile": "DELETE FROM {ks}.profiles WHERE user_id = ?",
    # Above every upload id the avatar's writes were timestamped with (see the schema).
    "delete_avatar": "DELETE FROM {ks}.avatars USING TIMESTAMP 9223372036854775806 "
    "WHERE user_id = ?",
    "delete_counters": "DELETE FROM {ks}.user_counters WHERE user_id = ?",
    "start_erasure": f"INSERT INTO {{ks}}.erasures ({_ERASURE_COLUMNS}) VALUES (0, ?, ?, ?, ?, ?) "
    "IF NOT EXISTS",
    "erasure": f"SELECT {_ERASURE_COLUMNS} FROM {{ks}}.erasures WHERE shard = 0 AND user_id = ?",
    "erasures": f"SELECT {_ERASURE_COLUMNS} FROM {{ks}}.erasures WHERE shard = 0",
    "save_erasure": "UPDATE {ks}.erasures SET step = ? WHERE shard = 0 AND user_id = ?",
    "finish_erasure": "DELETE FROM {ks}.erasures WHERE shard = 0 AND user_id = ?",
    "counters": "SELECT followers, following, posts FROM {ks}.user_counters WHERE user_id = ?",
    "id_by_username": "SELECT id FROM {ks}.users_by_username WHERE username = ?",
    "claim_follow": "INSERT INTO {ks}.follows (follower_id, followed_id, created_at_ms) "
    "VALUES (?, ?, ?) IF NOT EXISTS",
    "follow_edge": "SELECT created_at_ms FROM {ks}.follows "
    "WHERE follower_id = ? AND followed_id = ?",
    "release_follow": "DELETE FROM {ks}.follows WHERE follower_id = ? AND followed_id = ? "
    "IF EXISTS",
    "add_follower": "INSERT INTO {ks}.followers_by_time (user_id, created_at_ms, follower_id) "
    "VALUES (?, ?, ?)",
    "add_following": "INSERT INTO {ks}.following_by_time (user_id, created_at_ms, followed_id) "
    "VALUES (?, ?, ?)",
    "add_follower_id": "INSERT INTO {ks}.followers_by_id (user_id, follower_id) VALUES (?, ?)",
    "del_follower": "DELETE FROM {ks}.followers_by_time "
    "WHERE user_id = ? AND created_at_ms = ? AND follower_id = ?",
    "del_following": "DELETE FROM {ks}.following_by_time "
    "WHERE user_id = ? AND created_at_ms = ? AND followed_id = ?",
    "del_follower_id": "DELETE FROM {ks}.followers_by_id WHERE user_id = ? AND follower_id = ?",
    "bump_followers": "UPDATE {ks}.user_counters SET followers = followers + ? WHERE user_id = ?",
    "bump_following": "UPDATE {ks}.user_counters SET following = following + ? WHERE user_id = ?",
    "bump_posts": "UPDATE {ks}.user_counters SET posts = posts + ? WHERE user_id = ?",
    "followers_page": "SELECT follower_id AS other, created_at_ms FROM {ks}.followers_by_time "
    "WHERE user_id = ? AND (created_at_ms, follower_id) < (?, ?) LIMIT ?",
    "following_page": "SELECT followed_id AS other, created_at_ms FROM {ks}.following_by_time "
    "WHERE user_id = ? AND (created_at_ms, followed_id) < (?, ?) LIMIT ?",
    "follower_ids": "SELECT follower_id FROM {ks}.followers_by_id "
    "WHERE user_id = ? AND follower_id > ? LIMIT ?",
    "followee_ids": "SELECT followed_id FROM {ks}.follows "
    "WHERE follower_id = ? AND followed_id > ? LIMIT ?",
    "profile": "SELECT display_name, bio FROM {ks}.profiles WHERE user_id = ?",
    "set_display_name": "UPDATE {ks}.profiles SET display_name = ? WHERE user_id = ?",
    "set_bio": "UPDATE {ks}.profiles SET bio = ? WHERE user_id = ?",
    "avatar": "SELECT media, failure_reason FROM {ks}.avatars WHERE user_id = ?",
    "set_avatar": "UPDATE {ks}.avatars USING TIMESTAMP ? SET media = ?, failure_reason = null "
    "WHERE user_id = ?",
    "fail_avatar": "UPDATE {ks}.avatars USING TIMESTAMP ? SET failure_reason = ? WHERE user_id = ?",
    "remember_signup": "INSERT INTO {ks}.signups "
    "(request_id, user_id, username, api_token, created_at_ms) VALUES (?, ?, ?, ?, ?) "
    f"IF NOT EXISTS USING TTL {SIGNUP_TTL_S}",
    "index_signup": "INSERT INTO {ks}.signups_by_user (user_id, request_id) VALUES (?, ?) "
    f"USING TTL {SIGNUP_TTL_S}",
    "user_signups": "SELECT request_id FROM {ks}.signups_by_user WHERE user_id = ?",
    "delete_signup": "DELETE FROM {ks}.signups WHERE request_id = ? IF user_id = ?",
    "delete_user_signups": "DELETE FROM {ks}.signups_by_user WHERE user_id = ?",
    "delete_follow_requests": "DELETE FROM {ks}.follow_requests_by_follower WHERE follower_id = ?",
    "remember_follow_request": "INSERT INTO {ks}.follow_requests_by_follower "
    "(follower_id, request_id, followed_id) VALUES (?, ?, ?) "
    f"IF NOT EXISTS USING TTL {SIGNUP_TTL_S}",
    "count_post": "INSERT INTO {ks}.counted_posts (post_id, author_id) VALUES (?, ?) IF NOT EXISTS",
    "uncount_post": "DELETE FROM {ks}.counted_posts WHERE post_id = ? IF EXISTS",
}

_NEWEST = (2**62, 2**62)


class CassandraGraphStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def create_user(self, user: User) -> None:
        claimed = await self.run("claim_username", (user.username, user.id))
        # Not applied: the row that exists comes back; the same id means a retry finishing.
        if not claimed[0]["[applied]"] and claimed[0]["id"] != user.id:
            raise AlreadyExists(
                f"username {user.username!r} is taken", reason="USERNAME_TAKEN", field="username"
            )
        await self.run("insert_user", (user.id, user.username, user.created_at_ms))

    async def remember_signup(self, request_id: str, signup: Signup) -> Signup:
        # Indexed first, so that no crash leaves a sign-up an erasure cannot find.
        await self.run("index_signup", (signup.user_id, request_id))
        rows = await self.run(
            "remember_signup",
            (request_id, signup.user_id, signup.username, signup.token, signup.created_at_ms),
        )
        row = rows[0]
        if row["[applied]"]:
            return signup
        return Signup(row["user_id"], row["username"], row["api_token"], row["created_at_ms"])

    async def remember_follow_request(
        self, follower_id: int, request_id: str, followed_id: int
    ) -> int:
        rows = await self.run("remember_follow_request", (follower_id, request_id, followed_id))
        row = rows[0]
        return followed_id if row["[applied]"] else int(row["followed_id"])

    async def user_id_for_token(self, token_hash: bytes) -> int | None:
        rows = await self.run("token", (token_hash,))
        return int(rows[0]["user_id"]) if rows else None

    async def get_users(self, ids: Sequence[int]) -> dict[int, User]:
        unique = list(dict.fromkeys(ids))
        users = await asyncio.gather(*(self._user(i) for i in unique))
        return {u.id: u for u in users if u is not None}

    async def _user(self, user_id: int) -> User | None:
        user_rows, counter_rows, profile_rows, avatar_rows = await asyncio.gather(
            self.run("user", (user_id,)),
            self.run("counters", (user_id,)),
            self.run("profile", (user_id,)),
            self.run("avatar", (user_id,)),
        )
        if not user_rows or user_rows[0]["erased_at_ms"] is not None:
            return None
        row = user_rows[0]
        counts = counter_rows[0] if counter_rows else {}
        profile = profile_rows[0] if profile_rows else {}
        avatar = avatar_rows[0] if avatar_rows else {}
        return User(
            row["id"],
            row["username"],
            row["created_at_ms"],
            counts.get("followers") or 0,
            counts.get("following") or 0,
            counts.get("posts") or 0,
            profile.get("display_name") or "",
            profile.get("bio") or "",
            media_pb2.Media.FromString(avatar["media"]) if avatar.get("media") else None,
            avatar.get("failure_reason"),
        )

    async def set_avatar(self, user_id: int, upload_id: int, avatar: media_pb2.Media) -> None:
        await self.run("set_avatar", (upload_id, avatar.SerializeToString(), user_id))

    async def fail_avatar(self, user_id: int, upload_id: int, reason: str) -> None:
        await self.run("fail_avatar", (upload_id, reason, user_id))

    async def update_profile(self, user_id: int, changes: Mapping[str, str]) -> None:
        await asyncio.gather(
            *(self.run(f"set_{field}", (value, user_id)) for field, value in changes.items())
        )

    async def get_user_by_username(self, username: str) -> User | None:
        rows = await self.run("id_by_username", (username,))
        if not rows:
            return None
        return await self._user(rows[0]["id"])

    async def mark_erased(self, user_id: int, at_ms: int) -> None:
        await self.applied("mark_erased", (at_ms, user_id))

    async def erase_account_rows(self, user_id: int) -> None:
        # Counted posts are keyed by post: they leave with the posts' PostDeleted.
        signups = await self.run("user_signups", (user_id,))
        await asyncio.gather(
            self.run("delete_profile", (user_id,)),
            self.run("delete_avatar", (user_id,)),
            self.run("delete_counters", (user_id,)),
            self.run("delete_follow_requests", (user_id,)),
            # Only the user's own: the index may name a request another sign-up won.
            *(self.run("delete_signup", (row["request_id"], user_id)) for row in signups),
        )
        await self.run("delete_user_signups", (user_id,))

    async def release_user(self, user_id: int, username: str) -> None:
        await self.applied("release_username", (username, user_id))
        await self.run("delete_user", (user_id,))

    async def start_erasure(self, erasure: Erasure) -> Erasure:
        await self.applied("start_erasure", erasure_row(erasure))
        rows = await self.run("erasure", (erasure.user_id,))
        return erasure_from_row(rows[0])

    async def erasures(self) -> list[Erasure]:
        found = [erasure_from_row(row) for row in await self.run("erasures")]
        return sorted(found, key=lambda e: e.requested_at_ms)

    async def save_erasure(self, erasure: Erasure) -> None:
        await self.run("save_erasure", (erasure.step, erasure.user_id))

    async def finish_erasure(self, user_id: int) -> None:
        await self.run("finish_erasure", (user_id,))

    async def add_follow(self, follower_id: int, followed_id: int, at_ms: int) -> bool:
        if not await self.applied("claim_follow", (follower_id, followed_id, at_ms)):
            # Existing edge: make sure its index rows exist (a crash may have cut them short).
            rows = await self.run("follow_edge", (follower_id, followed_id))
            if rows:
                await self._index_follow(follower_id, followed_id, rows[0]["created_at_ms"])
            return False
        await self._index_follow(follower_id, followed_id, at_ms)
        await asyncio.gather(
            self.run("bump_following", (1, follower_id)),
            self.run("bump_followers", (1, followed_id)),
        )
        return True

    async def _index_follow(self, follower_id: int, followed_id: int, at_ms: int) -> None:
        await asyncio.gather(
            self.run("add_follower", (followed_id, at_ms, follower_id)),
            self.run("add_following", (follower_id, at_ms, followed_id)),
            self.run("add_follower_id", (followed_id, follower_id)),
        )

    async def remove_follow(self, follower_id: int, followed_id: int) -> bool:
        rows = await self.run("follow_edge", (follower_id, followed_id))
        if not rows or not await self.applied("release_follow", (follower_id, followed_id)):
            return False
        at_ms = rows[0]["created_at_ms"]
        await asyncio.gather(
            self.run("del_follower", (followed_id, at_ms, follower_id)),
            self.run("del_following", (follower_id, at_ms, followed_id)),
            self.run("del_follower_id", (followed_id, follower_id)),
            self.run("bump_following", (-1, follower_id)),
            self.run("bump_followers", (-1, followed_id)),
        )
        return True

    async def followers(
        self, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]:
        rows = await self.run("followers_page", (user_id, *(before or _NEWEST), limit))
        return [Edge(r["other"], r["created_at_ms"]) for r in rows]

    async def following(
        self, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]:
        rows = await self.run("following_page", (user_id, *(before or _NEWEST), limit))
        return [Edge(r["other"], r["created_at_ms"]) for r in rows]

    async def follower_ids(self, user_id: int, after_id: int, limit: int) -> list[int]:
        rows = await self.run("follower_ids", (user_id, after_id, limit))
        return [r["follower_id"] for r in rows]

    async def followees(self, user_id: int, after_id: int, limit: int) -> list[Followee]:
        ids = await self.followed_ids(user_id, after_id, limit)
        counts = await asyncio.gather(*(self.run("counters", (i,)) for i in ids))
        return [
            Followee(i, (c[0].get("followers") or 0) if c else 0)
            for i, c in zip(ids, counts, strict=True)
        ]

    async def followed_with_min_followers(self, user_id: int, min_count: int) -> list[int]:
        # One counter read per followee (graph_svc.caching keeps the answer for a while).
        followees: list[int] = []
        after = 0
        while chunk := await self.followees(user_id, after, 500):
            followees += [f.user_id for f in chunk if f.follower_count >= min_count]
            after = chunk[-1].user_id
        return followees

    async def followed_ids(self, user_id: int, after_id: int, limit: int) -> list[int]:
        rows = await self.run("followee_ids", (user_id, after_id, limit))
        return [r["followed_id"] for r in rows]

    async def record_post(self, author_id: int, post_id: int) -> None:
        if await self.applied("count_post", (post_id, author_id)):
            await self.run("bump_posts", (1, author_id))

    async def unrecord_post(self, author_id: int, post_id: int, *, uncount: bool = True) -> None:
        if await self.applied("uncount_post", (post_id,)) and uncount:
            await self.run("bump_posts", (-1, author_id))

"""The embedded graph store on SQLite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite
from photoshare.media.v1 import media_pb2

from common.errors import AlreadyExists
from common.ids import now_ms
from common.sqlite import SqliteStore
from graph_svc.models import Edge, Erasure, Followee, Signup, User
from graph_svc.storage.base import SIGNUP_TTL_S
from graph_svc.storage.rows import erasure_from_row, erasure_row

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        created_at_ms INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS follows (
        follower_id INTEGER NOT NULL,
        followed_id INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (follower_id, followed_id)) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS followers_by_time
        ON follows (followed_id, created_at_ms, follower_id)""",
    """CREATE INDEX IF NOT EXISTS following_by_time
        ON follows (follower_id, created_at_ms, followed_id)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS followers_by_id ON follows (followed_id, follower_id)""",
    """CREATE TABLE IF NOT EXISTS counters (
        user_id INTEGER PRIMARY KEY,
        followers INTEGER NOT NULL DEFAULT 0,
        following INTEGER NOT NULL DEFAULT 0,
        posts INTEGER NOT NULL DEFAULT 0)""",
    # Apart from users so that a profile is changed without touching the identity.
    """CREATE TABLE IF NOT EXISTS profiles (
        user_id INTEGER PRIMARY KEY,
        display_name TEXT NOT NULL DEFAULT '',
        bio TEXT NOT NULL DEFAULT '')""",
    # The avatar of the latest successful upload, and the failure of a later one, if any.
    """CREATE TABLE IF NOT EXISTS avatars (
        user_id INTEGER PRIMARY KEY,
        upload_id INTEGER NOT NULL DEFAULT 0,
        media BLOB,
        failed_upload_id INTEGER NOT NULL DEFAULT 0,
        failure_reason TEXT)""",
    # Sign-ups by request id, for retries (24 h). Holds the token as it was answered.
    """CREATE TABLE IF NOT EXISTS signups (
        request_id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        username TEXT NOT NULL,
        token TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS signups_by_expiry ON signups (expires_at_ms)",
    """CREATE TABLE IF NOT EXISTS follow_requests (
        follower_id INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        followed_id INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        PRIMARY KEY (follower_id, request_id))""",
    "CREATE INDEX IF NOT EXISTS follow_requests_by_expiry ON follow_requests (expires_at_ms)",
    # Set when the account's erasure began: from then on no read finds the user.
    "ALTER TABLE users ADD COLUMN erased_at_ms INTEGER",
    """CREATE TABLE IF NOT EXISTS erasures (
        user_id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        step TEXT NOT NULL,
        requested_at_ms INTEGER NOT NULL,
        release_at_ms INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS counted_posts (
        post_id INTEGER PRIMARY KEY,
        author_id INTEGER NOT NULL)""",
)

_USER_COLUMNS = """u.id, u.username, u.created_at_ms, COALESCE(c.followers, 0) AS followers,
    COALESCE(c.following, 0) AS following, COALESCE(c.posts, 0) AS posts,
    COALESCE(p.display_name, '') AS display_name, COALESCE(p.bio, '') AS bio,
    a.media AS avatar, a.failure_reason AS avatar_failure_reason
    FROM users u LEFT JOIN counters c ON c.user_id = u.id
    LEFT JOIN profiles p ON p.user_id = u.id
    LEFT JOIN avatars a ON a.user_id = u.id"""
_PROFILE_FIELDS = ("display_name", "bio")

# SQLite's limit on bound parameters is far above this; chunks keep statements small.
_IN_CHUNK = 500


class SqliteGraphStore(SqliteStore):
    schema = SCHEMA

    async def create_user(self, user: User) -> None:
        async with self._db.transaction() as tx:
            async with tx.execute(
                "SELECT id FROM users WHERE username = ?", (user.username,)
            ) as cursor:
                owner = await cursor.fetchone()
            if owner is not None and owner["id"] != user.id:
                raise AlreadyExists(
                    f"username {user.username!r} is taken",
                    reason="USERNAME_TAKEN",
                    field="username",
                )
            await tx.execute(
                "INSERT OR IGNORE INTO users (id, username, created_at_ms) VALUES (?, ?, ?)",
                (user.id, user.username, user.created_at_ms),
            )

    async def remember_signup(self, request_id: str, signup: Signup) -> Signup:
        now = now_ms()
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM signups WHERE expires_at_ms <= ?", (now,))
            await tx.execute(
                "INSERT OR IGNORE INTO signups VALUES (?, ?, ?, ?, ?, ?)",
                (
                    request_id,
                    signup.user_id,
                    signup.username,
                    signup.token,
                    signup.created_at_ms,
                    now + SIGNUP_TTL_S * 1000,
                ),
            )
            async with tx.execute(
                "SELECT user_id, username, token, created_at_ms FROM signups WHERE request_id = ?",
                (request_id,),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None  # written or kept within this transaction
        return Signup(row["user_id"], row["username"], row["token"], row["created_at_ms"])

    async def remember_follow_request(
        self, follower_id: int, request_id: str, followed_id: int
    ) -> int:
        now = now_ms()
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM follow_requests WHERE expires_at_ms <= ?", (now,))
            await tx.execute(
                "INSERT OR IGNORE INTO follow_requests VALUES (?, ?, ?, ?)",
                (follower_id, request_id, followed_id, now + SIGNUP_TTL_S * 1000),
            )
            async with tx.execute(
                "SELECT followed_id FROM follow_requests WHERE follower_id = ? AND request_id = ?",
                (follower_id, request_id),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None  # written or kept within this transaction
        return int(row["followed_id"])

    async def get_users(self, ids: Sequence[int]) -> dict[int, User]:
        found: dict[int, User] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = await self._db.fetchall(
                f"SELECT {_USER_COLUMNS} WHERE u.id IN ({marks}) AND u.erased_at_ms IS NULL", chunk
            )
            found.update((row["id"], _user(row)) for row in rows)
        return found

    async def get_user_by_username(self, username: str) -> User | None:
        row = await self._db.fetchone(
            f"SELECT {_USER_COLUMNS} WHERE u.username = ? AND u.erased_at_ms IS NULL", (username,)
        )
        return _user(row) if row else None

    async def mark_erased(self, user_id: int, at_ms: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE users SET erased_at_ms = ? WHERE id = ? AND erased_at_ms IS NULL",
                (at_ms, user_id),
            )

    async def erase_account_rows(self, user_id: int) -> None:
        async with self._db.transaction() as tx:
            for table, column in _ACCOUNT_ROWS:
                await tx.execute(f"DELETE FROM {table} WHERE {column} = ?", (user_id,))

    async def release_user(self, user_id: int, username: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM users WHERE id = ? AND username = ?", (user_id, username))

    async def start_erasure(self, erasure: Erasure) -> Erasure:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT OR IGNORE INTO erasures ({_ERASURE_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                erasure_row(erasure),
            )
            async with tx.execute(
                f"SELECT {_ERASURE_COLUMNS} FROM erasures WHERE user_id = ?", (erasure.user_id,)
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None  # written or kept within this transaction
        return erasure_from_row(row)

    async def erasures(self) -> list[Erasure]:
        rows = await self._db.fetchall(
            f"SELECT {_ERASURE_COLUMNS} FROM erasures ORDER BY requested_at_ms"
        )
        return [erasure_from_row(row) for row in rows]

    async def save_erasure(self, erasure: Erasure) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE erasures SET step = ? WHERE user_id = ?", (erasure.step, erasure.user_id)
            )

    async def finish_erasure(self, user_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM erasures WHERE user_id = ?", (user_id,))

    async def update_profile(self, user_id: int, changes: Mapping[str, str]) -> None:
        fields = [f for f in _PROFILE_FIELDS if f in changes]
        if not fields:
            return
        async with self._db.transaction() as tx:
            await tx.execute("INSERT OR IGNORE INTO profiles (user_id) VALUES (?)", (user_id,))
            await tx.execute(
                f"UPDATE profiles SET {', '.join(f'{f} = ?' for f in fields)} WHERE user_id = ?",
                (*(changes[f] for f in fields), user_id),
            )

    async def set_avatar(self, user_id: int, upload_id: int, avatar: media_pb2.Media) -> None:
        # In SET, column names are the row's old values: each is compared before any changes.
        async with self._db.transaction() as tx:
            await tx.execute(
                """INSERT INTO avatars (user_id, upload_id, media) VALUES (?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                media = CASE WHEN excluded.upload_id >= upload_id THEN excluded.media
                    ELSE media END,
                upload_id = max(upload_id, excluded.upload_id),
                failure_reason = CASE WHEN excluded.upload_id >= failed_upload_id THEN NULL
                    ELSE failure_reason END""",
                (user_id, upload_id, avatar.SerializeToString()),
            )

    async def fail_avatar(self, user_id: int, upload_id: int, reason: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                """INSERT INTO avatars (user_id, failed_upload_id, failure_reason) VALUES (?, ?, ?)
            ON CONFLICT (user_id) DO UPDATE SET
                failure_reason = CASE
                    WHEN excluded.failed_upload_id >= max(upload_id, failed_upload_id)
                    THEN excluded.failure_reason ELSE failure_reason END,
                failed_upload_id = max(failed_upload_id, excluded.failed_upload_id)""",
                (user_id, upload_id, reason),
            )

    async def add_follow(self, follower_id: int, followed_id: int, at_ms: int) -> bool:
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT OR IGNORE INTO follows VALUES (?, ?, ?)", (follower_id, followed_id, at_ms)
            )
            if cursor.rowcount == 0:
                return False
            await _bump(tx, follower_id, "following", +1)
            await _bump(tx, followed_id, "followers", +1)
            return True

    async def remove_follow(self, follower_id: int, followed_id: int) -> bool:
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "DELETE FROM follows WHERE follower_id = ? AND followed_id = ?",
                (follower_id, followed_id),
            )
            if cursor.rowcount == 0:
                return False
            await _bump(tx, follower_id, "following", -1)
            await _bump(tx, followed_id, "followers", -1)
            return True

    async def followers(
        self, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]:
        return await self._edges("follower_id", "followed_id", user_id, before, limit)

    async def following(
        self, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]:
        return await self._edges("followed_id", "follower_id", user_id, before, limit)

    async def _edges(
        self, other: str, own: str, user_id: int, before: tuple[int, int] | None, limit: int
    ) -> list[Edge]:
        bound = before or (2**62, 2**62)
        rows = await self._db.fetchall(
            f"SELECT {other} AS user_id, created_at_ms FROM follows WHERE {own} = ? "
            f"AND (created_at_ms, {other}) < (?, ?) "
            f"ORDER BY created_at_ms DESC, {other} DESC LIMIT ?",
            (user_id, *bound, limit),
        )
        return [Edge(row["user_id"], row["created_at_ms"]) for row in rows]

    async def follower_ids(self, user_id: int, after_id: int, limit: int) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT follower_id FROM follows WHERE followed_id = ? AND follower_id > ? "
            "ORDER BY follower_id LIMIT ?",
            (user_id, after_id, limit),
        )
        return [row["follower_id"] for row in rows]

    async def followees(self, user_id: int, after_id: int, limit: int) -> list[Followee]:
        rows = await self._db.fetchall(
            "SELECT f.followed_id, COALESCE(c.followers, 0) AS followers FROM follows f "
            "LEFT JOIN counters c ON c.user_id = f.followed_id "
            "WHERE f.follower_id = ? AND f.followed_id > ? ORDER BY f.followed_id LIMIT ?",
            (user_id, after_id, limit),
        )
        return [Followee(row["followed_id"], row["followers"]) for row in rows]

    async def followed_with_min_followers(self, user_id: int, min_count: int) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT f.followed_id FROM follows f JOIN counters c ON c.user_id = f.followed_id "
            "WHERE f.follower_id = ? AND c.followers >= ? ORDER BY f.followed_id",
            (user_id, min_count),
        )
        return [row["followed_id"] for row in rows]

    async def followed_ids(self, user_id: int, after_id: int, limit: int) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT followed_id FROM follows WHERE follower_id = ? AND followed_id > ? "
            "ORDER BY followed_id LIMIT ?",
            (user_id, after_id, limit),
        )
        return [row["followed_id"] for row in rows]

    async def record_post(self, author_id: int, post_id: int) -> None:
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT OR IGNORE INTO counted_posts VALUES (?, ?)", (post_id, author_id)
            )
            if cursor.rowcount:
                await _bump(tx, author_id, "posts", +1)

    async def unrecord_post(self, author_id: int, post_id: int, *, uncount: bool = True) -> None:
        async with self._db.transaction() as tx:
            cursor = await tx.execute("DELETE FROM counted_posts WHERE post_id = ?", (post_id,))
            if cursor.rowcount and uncount:
                await _bump(tx, author_id, "posts", -1)


async def _bump(tx: aiosqlite.Connection, user_id: int, column: str, delta: int) -> None:
    await tx.execute(
        f"INSERT INTO counters (user_id, {column}) VALUES (?, ?) "
        f"ON CONFLICT (user_id) DO UPDATE SET {column} = {column} + excluded.{column}",
        (user_id, delta),
    )


# What an account leaves besides its user row and follows: (table, column holding its id).
_ACCOUNT_ROWS = (
    ("profiles", "user_id"),
    ("avatars", "user_id"),
    ("counters", "user_id"),
    ("counted_posts", "author_id"),
    ("signups", "user_id"),
    ("follow_requests", "follower_id"),
)
_ERASURE_COLUMNS = "user_id, username, step, requested_at_ms, release_at_ms"


def _user(row: Any) -> User:
    return User(
        row["id"],
        row["username"],
        row["created_at_ms"],
        row["followers"],
        row["following"],
        row["posts"],
        row["display_name"],
        row["bio"],
        media_pb2.Media.FromString(row["avatar"]) if row["avatar"] is not None else None,
        row["avatar_failure_reason"],
    )


def _chunks(items: list[int]) -> list[list[int]]:
    return [items[i : i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]

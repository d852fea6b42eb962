"""The operator's view of an account erasure: where it is, and whether anything is left.

    python -m deploy.erasure status USER_ID   # the workflow's step, or that none is under way
    python -m deploy.erasure verify USER_ID   # every store scanned for the user's id

`verify` reads everything the mesh's settings point at (PHOTOSHARE_* as the services see
them): every SQLite file in the data directory, every Cassandra table of the keyspace, every
Redis key under the prefix, and the media objects. A value holds the id when it is the number,
when text spells it in decimal, or when bytes carry it as a protobuf varint, as a big-endian
64-bit integer or in decimal. Media holds no ids; the objects an erasure must delete are
found as those no upload row or rendition reference accounts for. Event logs are reported
apart: they are append-only, and their records expire with the log's retention
(EVENT_RETENTION_S, Kafka's log.retention.hours alike).

Exit status: 0 when nothing is found, 1 when something is, 2 on a usage error. It reads
whole stores: an operator's check, sized for a test mesh or a sampled audit, not a
production hot path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.backends import cassandra_config, redis_sentinels
from common.events.base import EVENT_RETENTION_S
from common.settings import Settings
from graph_svc.storage import make_graph_store
from media_svc.storage import make_object_store

# Files that are logs of events, not state (see the module docstring).
EVENT_LOG_FILES = ("events.db",)


@dataclass(frozen=True, slots=True)
class Finding:
    store: str  # "sqlite:graph.db", "cassandra", "redis", "media"
    where: str  # table and key, Redis key, file
    what: str  # the value, abridged

    def __str__(self) -> str:
        return f"{self.store}\t{self.where}\t{self.what}"


class Needle:
    """Recognises one id in any stored value."""

    def __init__(self, value: int) -> None:
        self.value = value
        decimal = str(value)
        self._text = re.compile(rf"(?<![0-9]){decimal}(?![0-9])")
        self._bytes = re.compile(rb"(?<![0-9])" + decimal.encode() + rb"(?![0-9])")
        self._binary = (_varint(value), struct.pack(">q", value))

    def found_in(self, value: Any) -> bool:
        match value:
            case bool() | None:
                return False
            case int():
                return value == self.value
            case str():
                return self._text.search(value) is not None
            case bytes() | bytearray() | memoryview():
                data = bytes(value)
                return any(b in data for b in self._binary) or self._bytes.search(data) is not None
            case dict():
                return any(self.found_in(k) or self.found_in(v) for k, v in value.items())
            case list() | tuple() | set() | frozenset():
                return any(self.found_in(v) for v in value)
            case _:
                return self.found_in(str(value))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _abridged(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scan_sqlite(path: Path, needle: Needle) -> Iterator[Finding]:
    """Every row of every table of one SQLite file."""
    store = f"sqlite:{path.name}"
    with _read_only(path) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            for values in cursor:
                row = dict(zip(columns, values, strict=True))
                for column, value in row.items():
                    if needle.found_in(value):
                        yield Finding(store, f"{table}.{column}", _abridged(row))


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a SQLite file the services may be writing, closed after."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout = 5000")
        yield db


@contextlib.contextmanager
def _cassandra(settings: Settings) -> Iterator[Any]:
    """A session on the mesh's keyspace, rows as dicts, shut down after."""
    from cassandra.cluster import Cluster
    from cassandra.query import dict_factory

    config = cassandra_config(settings)
    cluster = Cluster(list(config.hosts), port=config.port)
    try:
        session = cluster.connect(config.keyspace)
        session.row_factory = dict_factory
        yield session
    finally:
        cluster.shutdown()


def scan_cassandra(settings: Settings, needle: Needle) -> Iterator[Finding]:
    """Every row of every table of the keyspace, paged."""
    from cassandra.query import SimpleStatement

    with _cassandra(settings) as session:
        tables = [
            row["table_name"]
            for row in session.execute(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
                (settings.cassandra_keyspace,),
            )
        ]
        for table in tables:
            statement = SimpleStatement(f"SELECT * FROM {table}", fetch_size=500)
            for row in session.execute(statement, timeout=60):
                for column, value in row.items():
                    if needle.found_in(value):
                        yield Finding("cassandra", f"{table}.{column}", _abridged(row))


def scan_redis(settings: Settings, needle: Needle) -> Iterator[Finding]:
    """Every key under the mesh's prefix: its name and its value, whatever its type."""
    import redis
    from redis.sentinel import Sentinel

    client: redis.Redis
    if sentinels := redis_sentinels(settings):
        # redis-py leaves these unannotated.
        database = redis.connection.parse_url(settings.redis_url).get("db", 0)  # type: ignore[no-untyped-call]
        primaries = Sentinel(sentinels)  # type: ignore[no-untyped-call]
        client = primaries.master_for(settings.redis_sentinel_primary, db=database)  # type: ignore[no-untyped-call]
    else:
        client = redis.Redis.from_url(settings.redis_url)
    try:
        for key in client.scan_iter(match=f"{settings.redis_prefix}*", count=1000):
            value = _redis_value(client, key)
            if needle.found_in(key) or needle.found_in(value):
                yield Finding("redis", key.decode(errors="replace"), _abridged(value))
    finally:
        client.close()


def _redis_value(client: Any, key: bytes) -> Any:
    kind = client.type(key).decode()
    if kind == "string":
        return client.get(key)
    if kind == "hash":
        return client.hgetall(key)
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == "set":
        return client.smembers(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "stream":
        return client.xrange(key)
    return None  # gone between the scan and the read


@dataclass(frozen=True, slots=True)
class MediaIndex:
    """What the media service's rows account for."""

    upload_ids: set[int]
    rendition_names: set[str]


def media_index(settings: Settings) -> MediaIndex:
    if settings.production:
        with _cassandra(settings) as session:
            uploads = {r["upload_id"] for r in session.execute("SELECT upload_id FROM uploads")}
            names = {r["name"] for r in session.execute("SELECT name FROM rendition_refs")}
        return MediaIndex(uploads, names)
    with _read_only(settings.data_dir / "media.db") as db:
        uploads = {row[0] for row in db.execute("SELECT upload_id FROM uploads")}
        names = {row[0] for row in db.execute("SELECT DISTINCT name FROM rendition_refs")}
    return MediaIndex(uploads, names)


async def scan_media(settings: Settings, index: MediaIndex) -> list[Finding]:
    """Originals and pieces of uploads of no upload, renditions no upload refers to (in the
    object store; a deletion in progress, under `deleting/`, is not one: it decides on its
    own), and processing scratch of no upload (every process's, under the data directory)."""
    found = []
    objects = make_object_store(settings)
    await objects.open()
    try:
        for stored in await objects.list("uploads/"):
            upload_id = stored.key.removeprefix("uploads/").split(".", 1)[0]
            if not upload_id.isdigit() or int(upload_id) not in index.upload_ids:
                found.append(Finding("media", stored.key, "of no upload"))
        for stored in await objects.list("media/"):
            if stored.key.rsplit("/", 1)[1] not in index.rendition_names:
                found.append(Finding("media", stored.key, "no upload refers to it"))
    finally:
        await objects.close()
    for path in sorted(settings.data_dir.glob("scratch/*/work/*")):
        if not path.name.isdigit() or int(path.name) not in index.upload_ids:
            found.append(Finding("media", str(path), "processing files of no upload"))
    return found


def verify(settings: Settings, user_id: int) -> tuple[list[Finding], list[Finding]]:
    """What is left of the user: (findings in the stores, records in the event logs)."""
    needle = Needle(user_id)
    found: list[Finding] = []
    in_logs: list[Finding] = []
    for path in sorted(settings.data_dir.glob("*.db")):
        (in_logs if path.name in EVENT_LOG_FILES else found).extend(scan_sqlite(path, needle))
    if settings.production:
        for finding in scan_cassandra(settings, needle):
            # The outbox holds events Kafka did not take yet: a log too.
            (in_logs if finding.where.startswith("outbox") else found).append(finding)
        found.extend(scan_redis(settings, needle))
    found.extend(asyncio.run(scan_media(settings, media_index(settings))))
    return found, in_logs


async def status(settings: Settings, user_id: int) -> str:
    store = make_graph_store(settings)
    await store.open()
    try:
        erasure = next((e for e in await store.erasures() if e.user_id == user_id), None)
        users = await store.get_users([user_id])
    finally:
        await store.close()
    if erasure is None:
        if users:
            return f"user {user_id} exists and is not being erased"
        return f"no erasure of user {user_id} is under way (finished, or never asked)"
    release = datetime.fromtimestamp(erasure.release_at_ms / 1000, UTC).isoformat()
    return (
        f"user {user_id} ({erasure.username}) is being erased: at step {erasure.step}; "
        f"the username is released at {release}"
    )


def _print(findings: Iterable[Finding]) -> None:
    for finding in findings:
        print(finding)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.erasure", description=__doc__)
    parser.add_argument("command", choices=("status", "verify"))
    parser.add_argument("user_id", type=int)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "status":
        print(asyncio.run(status(settings, args.user_id)))
        return 0
    found, in_logs = verify(settings, args.user_id)
    if in_logs:
        days = EVENT_RETENTION_S / 86_400
        print(f"# {len(in_logs)} event-log records name the user; they expire within {days:g} days")
    if found:
        print(f"# {len(found)} traces of user {args.user_id} are left:")
        _print(found)
        return 1
    print(f"# nothing of user {args.user_id} is left in the stores")
    return 0


if __name__ == "__main__":
    sys.exit(main())

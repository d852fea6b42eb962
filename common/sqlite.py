"""SQLite for the embedded default: one writer connection behind a lock, one reader (WAL)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from common.files import private_dir

_PRAGMAS = (
    "PRAGMA busy_timeout=10000",  # first: the others may wait for another process's lock
    # FULL: an acknowledged write survives a crash of the machine, not only of the process.
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)
# Switching a file to WAL takes an exclusive lock without waiting for it (SQLite answers
# "database is locked" at once): when every process of the mesh opens the shared event log
# together, the switch is retried this long.
_WAL_SWITCH_S = 10.0


_ADD_COLUMN = re.compile(
    r"\s*ALTER\s+TABLE\s+(?P<table>\w+)\s+ADD\s+COLUMN\s+(?P<column>\w+)", re.IGNORECASE
)


async def _columns(conn: aiosqlite.Connection, table: str) -> set[str]:
    async with conn.execute(f"PRAGMA table_info({table})") as cursor:
        return {row[1] for row in await cursor.fetchall()}


class Database:
    """A SQLite file shared safely by the coroutines of one process and by other processes.

    Example:
        db = Database(path, schema=SCHEMA)
        await db.open()
        async with db.transaction() as tx:
            await tx.execute("INSERT ...")
        rows = await db.fetchall("SELECT ...")
    """

    def __init__(self, path: Path, *, schema: Iterable[str] = ()) -> None:
        self._path = path
        self._schema = tuple(schema)
        self._writer_conn: aiosqlite.Connection | None = None
        self._reader_conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        """Connects and creates the schema (idempotent: `ALTER TABLE t ADD COLUMN c ...`
        statements, which bring an older file up to date, run only when `c` is missing)."""
        private_dir(self._path.parent)
        self._writer_conn = await _connect(self._path)
        async with self._locked_begin(self._writer_conn) as conn:
            for statement in self._schema:
                added = _ADD_COLUMN.match(statement)
                if added and added["column"] in await _columns(conn, added["table"]):
                    continue
                await conn.execute(statement)
        self._reader_conn = await _connect(self._path)

    @property
    def _writer(self) -> aiosqlite.Connection:
        if self._writer_conn is None:
            raise RuntimeError(f"{self._path} is not open")
        return self._writer_conn

    @property
    def _reader(self) -> aiosqlite.Connection:
        if self._reader_conn is None:
            raise RuntimeError(f"{self._path} is not open")
        return self._reader_conn

    @staticmethod
    @asynccontextmanager
    async def _locked_begin(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
        try:
            await conn.execute("BEGIN IMMEDIATE")
            yield conn
        except BaseException:
            # Also when cancelled mid-BEGIN: the connection's thread runs commands in order,
            # so this rollback lands after the BEGIN and leaves the connection clean.
            await asyncio.shield(conn.rollback())
            raise
        await asyncio.shield(conn.commit())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock, self._locked_begin(self._writer) as conn:
            yield conn

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        # Executed and read to the end in one step on the reader's thread: a statement left
        # open between steps, while other reads overlap it, would keep the connection's read
        # transaction (and its snapshot) open under load, hiding rows written since.
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def close(self) -> None:
        for conn in (self._reader_conn, self._writer_conn):
            if conn is not None:
                await conn.close()
        self._reader_conn = self._writer_conn = None


class SqliteStore:
    """Base of the SQLite backends: one database file with its schema, opened with the service."""

    schema: tuple[str, ...] = ()

    def __init__(self, path: Path) -> None:
        self._db = Database(path, schema=self.schema)

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    await _use_wal(conn)
    return conn


async def _use_wal(conn: aiosqlite.Connection) -> None:
    """WAL is kept in the file: only its first opener switches it (asking needs no lock)."""
    deadline = time.monotonic() + _WAL_SWITCH_S
    while True:
        async with conn.execute("PRAGMA journal_mode") as cursor:
            row = await cursor.fetchone()
        if row is not None and str(row[0]).lower() == "wal":
            return
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.05)

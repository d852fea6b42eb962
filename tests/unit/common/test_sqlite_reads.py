"""Reads see every committed write, however many other reads overlap them."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from common.sqlite import Database


async def test_a_row_is_read_right_after_its_commit_while_reads_keep_overlapping(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "t.db", schema=["CREATE TABLE IF NOT EXISTS t (id INTEGER)"])
    await db.open()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES (0)")

    async def keep_reading() -> None:
        while True:
            await db.fetchone("SELECT id FROM t WHERE id = 0")

    # Always some read in flight on the one reader connection, as under load.
    readers = [asyncio.create_task(keep_reading()) for _ in range(16)]
    try:
        for n in range(1, 51):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES (?)", (n,))
            assert await db.fetchone("SELECT id FROM t WHERE id = ?", (n,)) is not None
    finally:
        for reader in readers:
            reader.cancel()
        for reader in readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await db.close()

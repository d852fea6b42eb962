"""Objects as files under one folder (the embedded default): `key` is the file's relative path.
Files and folders are private to the service's user (originals keep their EXIF and GPS).

A put writes a temporary file beside the target, syncs it and renames it into place, so a
reader sees the old object or the new one, whole, and a crash leaves no half-written object.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

from common.files import private_dir, private_opener
from media_svc.storage.base import StoredObject

CHUNK_BYTES = 256 * 1024
_TEMPORARY = ".writing-"  # a put in progress; never listed


class FileObjectStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    async def open(self) -> None:
        await asyncio.to_thread(private_dir, self._root)

    async def close(self) -> None:
        pass

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/") or _TEMPORARY in key:
            raise ValueError(f"not an object key: {key!r}")
        return self._root / key

    async def put(self, key: str, source: Path, content_type: str) -> None:
        await asyncio.to_thread(_durable_copy, source, self._path(key))

    async def fetch(self, key: str, target: Path) -> bool:
        try:
            await asyncio.to_thread(shutil.copyfile, self._path(key), target)
        except FileNotFoundError:
            return False
        return True

    async def read(
        self, key: str, first: int = 0, last: int | None = None
    ) -> tuple[AsyncGenerator[bytes, None], int] | None:
        try:
            file = await asyncio.to_thread(open, self._path(key), "rb")
        except FileNotFoundError:
            return None
        size = os.fstat(file.fileno()).st_size
        end = size - 1 if last is None else min(last, size - 1)

        async def chunks() -> AsyncGenerator[bytes, None]:
            # Open, the file reads to its end even if the object is replaced or deleted.
            try:
                await asyncio.to_thread(file.seek, first)
                left = end - first + 1
                while left > 0:
                    chunk = await asyncio.to_thread(file.read, min(CHUNK_BYTES, left))
                    if not chunk:
                        break
                    left -= len(chunk)
                    yield chunk
            finally:
                file.close()

        return chunks(), size

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def copy(self, source: str, target: str) -> bool:
        try:
            await asyncio.to_thread(_durable_copy, self._path(source), self._path(target))
        except FileNotFoundError:
            return False
        return True

    async def list(self, prefix: str) -> list[StoredObject]:
        def walk() -> list[StoredObject]:
            # From the deepest folder the prefix names, then filtered by the whole prefix.
            folder = self._root / prefix.rpartition("/")[0]
            found = []
            for directory, _, names in os.walk(folder):
                for name in names:
                    path = Path(directory) / name
                    key = path.relative_to(self._root).as_posix()
                    if key.startswith(prefix) and _TEMPORARY not in name:
                        found.append(StoredObject(key, path.stat().st_size))
            return sorted(found, key=lambda o: o.key)

        return await asyncio.to_thread(walk)

    async def delete(self, keys: Sequence[str]) -> None:
        def delete_all() -> None:
            for key in keys:
                self._path(key).unlink(missing_ok=True)

        await asyncio.to_thread(delete_all)


def _durable_copy(source: Path, target: Path) -> None:
    if not target.parent.is_dir():
        private_dir(target.parent)
    temporary = target.with_name(f"{target.name}{_TEMPORARY}{uuid.uuid4().hex}")
    try:
        with open(source, "rb") as reader, open(temporary, "xb", opener=private_opener) as writer:
            shutil.copyfileobj(reader, writer, CHUNK_BYTES)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    # The rename itself must reach the disk before anyone is told the object exists.
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)

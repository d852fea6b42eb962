"""Originals and renditions as files under the data directory."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


class FileBlobStore:
    """Originals at uploads/<id> (private), renditions at media/<ab>/<digest>.<ext>."""

    def __init__(self, root: Path) -> None:
        self._uploads = root / "uploads"
        self._media = root / "media"
        self._uploads.mkdir(parents=True, exist_ok=True)
        self._media.mkdir(parents=True, exist_ok=True)

    def staging_path(self, upload_id: int) -> Path:
        return self._uploads / f"{upload_id}.part"

    def original_path(self, upload_id: int) -> Path:
        return self._uploads / str(upload_id)

    async def put_original(self, upload_id: int, source: Path) -> Path:
        target = self.original_path(upload_id)
        await asyncio.to_thread(_durable_rename, source, target)
        return target

    async def put_rendition(self, digest: str, extension: str, data: bytes) -> None:
        path = self._rendition_path(digest, extension)
        if not path.exists():
            await asyncio.to_thread(_durable_write, path, data)

    async def get_rendition(self, digest: str, extension: str) -> bytes | None:
        path = self._rendition_path(digest, extension)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    def _rendition_path(self, digest: str, extension: str) -> Path:
        return self._media / digest[:2] / f"{digest}.{extension}"


def _durable_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    _durable_rename(tmp, path)


def _durable_rename(source: Path, target: Path) -> None:
    os.replace(source, target)
    # The rename itself must reach the disk before the upload is acknowledged.
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

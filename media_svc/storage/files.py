"""Originals, partial uploads, work files and renditions as files under the data directory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

from common.files import private_dir

_HASH_BLOCK = 1024 * 1024
_DELETING = ".deleting-"  # a rendition moved aside while its deletion decides


class FileBlobStore:
    """Originals at uploads/<id> (private), partial uploads at uploads/<id>.part, processing
    output at work/<id>/ (a photo's decoded image at work/<id>/decoded.pixels), renditions at
    media/<ab>/<digest>.<ext> (public, immutable)."""

    def __init__(self, root: Path) -> None:
        self._uploads = root / "uploads"
        self._work = root / "work"
        self._media = root / "media"
        private_dir(root)  # originals keep their EXIF and GPS: nobody else may read them
        for folder in (self._uploads, self._work, self._media):
            private_dir(folder)

    def staging_path(self, upload_id: int) -> Path:
        return self._uploads / f"{upload_id}.part"

    async def staged_bytes(self, upload_id: int) -> int:
        try:
            return (await asyncio.to_thread(self.staging_path(upload_id).stat)).st_size
        except FileNotFoundError:
            return 0

    async def discard_staging(self, upload_id: int) -> None:
        def discard() -> None:
            for path in self._uploads.glob(f"{upload_id}.*part"):
                path.unlink(missing_ok=True)

        await asyncio.to_thread(discard)

    async def discard_original(self, upload_id: int) -> None:
        await asyncio.to_thread(self.original_path(upload_id).unlink, missing_ok=True)

    def original_path(self, upload_id: int) -> Path:
        return self._uploads / str(upload_id)

    async def put_original(self, upload_id: int, source: Path) -> str:
        """Moves a fully written, synced file into place; returns its SHA-256."""
        digest = await asyncio.to_thread(_sha256, source)
        await asyncio.to_thread(_durable_rename, source, self.original_path(upload_id))
        return digest

    async def work_dir(self, upload_id: int) -> Path:
        """A new empty folder for one processing attempt's output. One per attempt: a worker
        orphaned by a crash may still be writing into an earlier attempt's folder."""
        folder = self._work / str(upload_id) / uuid.uuid4().hex
        await asyncio.to_thread(folder.mkdir, parents=True)
        return folder

    async def discard_work(self, upload_id: int) -> None:
        await asyncio.to_thread(shutil.rmtree, self._work / str(upload_id), True)

    async def keep_decoded(self, upload_id: int, source: Path) -> None:
        def keep() -> None:
            with contextlib.suppress(FileNotFoundError):  # a renderer that wrote none
                os.replace(source, self._decoded_path(upload_id))

        await asyncio.to_thread(keep)

    async def decoded(self, upload_id: int) -> Path | None:
        path = self._decoded_path(upload_id)
        return path if await asyncio.to_thread(path.exists) else None

    def _decoded_path(self, upload_id: int) -> Path:
        # Beside the attempts' folders, so that discard_work takes it too. Not durable: a
        # crash loses it, and the AVIF job decodes the original instead.
        return self._work / str(upload_id) / "decoded.pixels"

    async def rendition_digest(self, source: Path) -> str:
        return await asyncio.to_thread(_sha256, source)

    async def put_rendition(self, source: Path, digest: str, extension: str) -> None:
        await asyncio.to_thread(_durable_place, source, self._rendition_path(digest, extension))

    async def delete_rendition(
        self, digest: str, extension: str, still_used: Callable[[], Awaitable[bool]]
    ) -> None:
        path = self._rendition_path(digest, extension)
        # Moved aside first: from here on it is not served, and an upload that claims it now
        # finds it missing and stores it again; one that claimed it before is seen below.
        aside = path.with_name(f"{path.name}{_DELETING}{uuid.uuid4().hex}")
        try:
            await asyncio.to_thread(os.rename, path, aside)
        except FileNotFoundError:
            return
        await self._settle(aside, await still_used())

    async def finish_deletions(self, still_used: Callable[[str], Awaitable[bool]]) -> None:
        aside = await asyncio.to_thread(lambda: list(self._media.glob(f"*/*{_DELETING}*")))
        for path in aside:
            await self._settle(path, await still_used(path.name.split(_DELETING)[0]))

    async def _settle(self, aside: Path, keep: bool) -> None:
        if keep:  # same name, same bytes: a copy stored again meanwhile is equal to it
            await asyncio.to_thread(
                _durable_rename, aside, aside.with_name(aside.name.split(_DELETING)[0])
            )
        else:
            await asyncio.to_thread(aside.unlink, missing_ok=True)

    async def open_rendition(self, digest: str, extension: str) -> tuple[BinaryIO, int] | None:
        def open_it() -> tuple[BinaryIO, int] | None:
            try:
                file = open(self._rendition_path(digest, extension), "rb")  # noqa: SIM115
            except FileNotFoundError:
                return None
            return file, os.fstat(file.fileno()).st_size

        return await asyncio.to_thread(open_it)

    async def rendition_file(self, digest: str, extension: str) -> tuple[Path, int] | None:
        """Where a rendition is and how many bytes it has; None when it is not stored."""
        path = self._rendition_path(digest, extension)
        try:
            return path, (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def verify_rendition(self, digest: str, extension: str) -> bool:
        """The rendition is there and its bytes still hash to its name."""
        path = self._rendition_path(digest, extension)
        try:
            return await asyncio.to_thread(_sha256, path) == digest
        except FileNotFoundError:
            return False

    def _rendition_path(self, digest: str, extension: str) -> Path:
        return self._media / digest[:2] / f"{digest}.{extension}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _durable_place(source: Path, target: Path) -> None:
    # Replaces even an existing file: the same name means the same bytes, unless it was damaged.
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb+") as file:
        os.fsync(file.fileno())
    _durable_rename(source, target)


def _durable_rename(source: Path, target: Path) -> None:
    os.replace(source, target)
    # The rename itself must reach the disk before anyone is told the file exists.
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

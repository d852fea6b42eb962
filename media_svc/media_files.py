"""Where an upload's bytes are at each step, in the shared object store and in this process's
scratch folder.

In the object store (any replica reads what another wrote):
- `uploads/<id>.parts/<offset>`: the pieces of an upload still arriving, one per request (a
  tus PATCH keeps what arrived before its connection broke), named by the byte they start at;
- `uploads/<id>`: the original, once whole (private: it keeps its EXIF and GPS);
- `media/<ab>/<digest>.<extension>`: renditions, public and named by their SHA-256;
- `deleting/<ab>/<digest>.<extension>`: a rendition set aside while its deletion decides.

In scratch (this process only; emptied at start): the file a request is receiving, and one
folder per processing attempt with the original fetched to decode and what the worker wrote.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import shutil
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path

from common.files import private_dir
from media_svc.storage.base import ObjectStore, StoredObject

_HASH_BLOCK = 1024 * 1024
_OFFSET_DIGITS = 15  # keys sort by offset: up to a petabyte
_ORIGINAL_TYPE = "application/octet-stream"
_DELETING = "deleting/"


class MediaFiles:
    """Example:
    files = MediaFiles(objects, settings.data_dir / "scratch" / instance)
    await files.open()
    receiving = files.receiving_file(upload_id)      # write the request's bytes here
    await files.stage(upload_id, offset, receiving)  # a piece of a resumable upload
    await files.put_original(upload_id, whole_file)  # -> its SHA-256
    """

    def __init__(self, objects: ObjectStore, scratch: Path) -> None:
        self._objects = objects
        self._scratch = scratch

    async def open(self) -> None:
        """Empties scratch: what a stopped process left there belongs to no request or job."""
        await asyncio.to_thread(shutil.rmtree, self._scratch, True)
        await asyncio.to_thread(private_dir, self._scratch / "receiving")
        await asyncio.to_thread(private_dir, self._scratch / "work")

    async def close(self) -> None:
        pass

    # --- receiving ----------------------------------------------------------------------

    def receiving_file(self, upload_id: int) -> Path:
        """A new scratch file for one request's bytes."""
        return self._scratch / "receiving" / f"{upload_id}.{uuid.uuid4().hex}"

    async def staged_bytes(self, upload_id: int) -> int:
        """How many bytes of the upload are stored: its pieces, end to end from byte 0."""
        return sum(piece.size for piece in await self._pieces(upload_id))

    async def _pieces(self, upload_id: int) -> list[StoredObject]:
        """The stored pieces that continue each other from byte 0. One past a gap or
        overlapping another (left by a writer that lost its claim) is not part of the upload."""
        pieces, offset = [], 0
        for piece in await self._objects.list(_parts(upload_id)):
            if int(piece.key.rsplit("/", 1)[1]) != offset:
                break
            pieces.append(piece)
            offset += piece.size
        return pieces

    async def stage(self, upload_id: int, offset: int, source: Path) -> None:
        """Stores a piece of the upload that starts at byte `offset`."""
        key = f"{_parts(upload_id)}{offset:0{_OFFSET_DIGITS}d}"
        await self._objects.put(key, source, _ORIGINAL_TYPE)

    async def staged_head(self, upload_id: int, size: int) -> bytes:
        """Up to `size` bytes from the start of what is stored."""
        head = b""
        for piece in await self._pieces(upload_id):
            if len(head) >= size:
                break
            found = await self._objects.read(piece.key, 0, size - len(head) - 1)
            if found is None:
                break
            head += b"".join([chunk async for chunk in found[0]])
        return head[:size]

    async def assemble(self, upload_id: int, target: Path) -> None:
        """Writes the stored pieces end to end into `target`."""
        pieces = await self._pieces(upload_id)
        with open(target, "wb") as file:  # noqa: ASYNC230 - written below in a thread
            for piece in pieces:
                found = await self._objects.read(piece.key)
                if found is None:
                    raise FileNotFoundError(f"a piece of upload {upload_id} went missing")
                async for chunk in found[0]:
                    await asyncio.to_thread(file.write, chunk)

    async def discard_staging(self, upload_id: int) -> None:
        """Drops the pieces of an upload (finished, failed or expired)."""
        pieces = await self._objects.list(_parts(upload_id))
        await self._objects.delete([piece.key for piece in pieces])

    # --- originals ----------------------------------------------------------------------

    async def put_original(self, upload_id: int, source: Path) -> str:
        """Stores a complete file as the upload's original; returns its SHA-256."""
        digest = await asyncio.to_thread(_sha256, source)
        await self._objects.put(_original(upload_id), source, _ORIGINAL_TYPE)
        return digest

    async def fetch_original(self, upload_id: int, work_dir: Path) -> Path | None:
        """The original, fetched into a processing attempt's folder; None when it is gone."""
        target = work_dir / "original"
        return target if await self._objects.fetch(_original(upload_id), target) else None

    async def discard_original(self, upload_id: int) -> None:
        await self._objects.delete([_original(upload_id)])

    # --- processing ---------------------------------------------------------------------

    async def work_dir(self, upload_id: int) -> Path:
        """A new empty folder for one processing attempt. One per attempt: a worker orphaned
        by a timeout may still be writing into an earlier attempt's folder."""
        folder = self._work(upload_id) / uuid.uuid4().hex
        await asyncio.to_thread(folder.mkdir, parents=True)
        return folder

    async def discard_work(self, upload_id: int) -> None:
        """Drops every attempt's folder and the kept decoded image."""
        await asyncio.to_thread(shutil.rmtree, self._work(upload_id), True)

    async def keep_decoded(self, upload_id: int, source: Path) -> None:
        """Keeps a photo job's decoded image (if it wrote one) for the upload's AVIF job, in
        scratch: a replica that takes the AVIF job over decodes the original instead."""

        def keep() -> None:
            if source.exists():
                source.replace(self._decoded(upload_id))

        await asyncio.to_thread(keep)

    async def decoded(self, upload_id: int) -> Path | None:
        path = self._decoded(upload_id)
        return path if await asyncio.to_thread(path.exists) else None

    def _work(self, upload_id: int) -> Path:
        return self._scratch / "work" / str(upload_id)

    def _decoded(self, upload_id: int) -> Path:
        return self._work(upload_id) / "decoded.pixels"

    # --- renditions ---------------------------------------------------------------------

    async def rendition_digest(self, source: Path) -> str:
        """The content address a finished file is stored under."""
        return await asyncio.to_thread(_sha256, source)

    async def put_rendition(
        self, source: Path, digest: str, extension: str, content_type: str
    ) -> None:
        """Stores a finished file under its content address (replacing a damaged copy)."""
        await self._objects.put(rendition_key(digest, extension), source, content_type)

    async def verify_rendition(self, digest: str, extension: str) -> bool:
        """The rendition is stored and its bytes still hash to its name."""
        found = await self._objects.read(rendition_key(digest, extension))
        if found is None:
            return False
        hashed = hashlib.sha256()
        async for chunk in found[0]:
            hashed.update(chunk)
        return hashed.hexdigest() == digest

    async def delete_rendition(
        self, digest: str, extension: str, still_used: Callable[[], Awaitable[bool]]
    ) -> None:
        """Deletes a rendition unless `still_used()`, asked once it is no longer served: an
        upload that claims it from then on finds it missing (and stores it again), one that
        claimed it before is seen and keeps it. Idempotent."""
        key = rendition_key(digest, extension)
        # Set aside first, so that a crash before the decision leaves a copy to restore.
        copied = await self._objects.copy(key, _DELETING + key)
        if copied or await self._objects.size(_DELETING + key) is not None:
            await self._settle(key, still_used)

    async def finish_deletions(self, still_used: Callable[[str], Awaitable[bool]]) -> None:
        """Settles deletions a crash cut short: each rendition is restored if `still_used` by
        its name, else deleted."""
        for aside in await self._objects.list(_DELETING):
            key = aside.key.removeprefix(_DELETING)
            await self._settle(key, functools.partial(still_used, key.rsplit("/", 1)[1]))

    async def _settle(self, key: str, still_used: Callable[[], Awaitable[bool]]) -> None:
        await self._objects.delete([key])  # from here on it is not served
        if await still_used():  # same name, same bytes: restoring over a new copy is safe
            await self._objects.copy(_DELETING + key, key)
        await self._objects.delete([_DELETING + key])

    async def rendition_size(self, digest: str, extension: str) -> int | None:
        """The rendition's size; None when it is not stored."""
        return await self._objects.size(rendition_key(digest, extension))

    async def read_rendition(
        self, digest: str, extension: str, first: int = 0, last: int | None = None
    ) -> tuple[AsyncGenerator[bytes, None], int] | None:
        """The rendition's bytes `first`..`last` and its whole size; None when it is not
        stored. A file being read is read to its end even if it is deleted meanwhile; an S3
        store may cut such a GET short (the client's retry gets the 404)."""
        return await self._objects.read(rendition_key(digest, extension), first, last)


def rendition_key(digest: str, extension: str) -> str:
    return f"media/{digest[:2]}/{digest}.{extension}"


def _parts(upload_id: int) -> str:
    return f"uploads/{upload_id}.parts/"


def _original(upload_id: int) -> str:
    return f"uploads/{upload_id}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()

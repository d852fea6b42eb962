"""Who uses which rendition, and deleting the ones nobody uses any more.

Renditions are stored by content, so identical uploads share them: each upload holds a
reference to every rendition its media names, taken before the file is stored or reused,
and dropped when its post is deleted. A rendition whose last reference goes is deleted and
its URL announced (`MediaDeleted`) for a CDN purge.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol

from photoshare.media.v1 import media_pb2

from media_svc.media_files import MediaFiles
from media_svc.models import Upload
from media_svc.storage.base import UploadStore


class DeletedMediaEvents(Protocol):
    async def media_deleted(self, upload: Upload, urls: Sequence[str]) -> None: ...


class Renditions:
    """Example:
    renditions = Renditions(store, files, events)
    await renditions.claim(upload.upload_id, names)  # before storing or reusing them
    await renditions.release(upload, media)  # its post was deleted
    """

    def __init__(self, store: UploadStore, files: MediaFiles, events: DeletedMediaEvents) -> None:
        self._store = store
        self._files = files
        self._events = events

    async def claim(self, upload_id: int, names: Sequence[str]) -> None:
        await self._store.add_rendition_refs(upload_id, names)

    async def release(self, upload: Upload, media: media_pb2.Media) -> None:
        """Drops the upload's references and deletes what nobody else uses. Idempotent: run
        again (after a crash), it announces the same URLs again."""
        urls = {name_of(r.url): r.url for r in media.renditions}
        await self._store.drop_rendition_refs(upload.upload_id, list(urls))
        deleted = []
        for name, url in urls.items():
            if await self._store.rendition_referenced(name):
                continue
            digest, _, extension = name.partition(".")
            await self._files.delete_rendition(
                digest, extension, functools.partial(self._store.rendition_referenced, name)
            )
            deleted.append(url)
        if deleted and len(deleted) == len(urls) and upload.sha256:
            await self._store.forget_content(content_key(upload))
        if deleted:
            await self._events.media_deleted(upload, deleted)

    async def finish_deletions(self) -> None:
        """After a crash: renditions left mid-deletion are kept if used, else deleted."""
        await self._files.finish_deletions(self._store.rendition_referenced)


def name_of(url: str) -> str:
    """A rendition's stored name, `<digest>.<extension>`, from its URL."""
    return url.rsplit("/", 1)[-1]


def names_of(media: media_pb2.Media) -> list[str]:
    return [name_of(r.url) for r in media.renditions]


def content_key(upload: Upload) -> str:
    """Identical bytes give identical renditions only for the same kind of upload: the same
    photo as a post and as an avatar is rendered twice."""
    assert upload.sha256 is not None
    return f"avatar:{upload.sha256}" if upload.media_type == "AVATAR" else upload.sha256

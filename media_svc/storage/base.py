"""Media store interfaces; every backend passes the contract tests in tests/contract/."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from media_svc.models import Upload, UploadState


class UploadStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create(self, upload: Upload) -> None:
        """Opens a slot; opening the same slot again is a no-op that keeps the first."""
        ...

    async def get(self, upload_id: int) -> Upload | None: ...

    async def mark_received(self, upload_id: int, sha256: str) -> bool:
        """OPEN -> RECEIVED; False when the slot already had its bytes."""
        ...

    async def mark_published(self, upload_id: int, media: bytes) -> bool:
        """RECEIVED -> PUBLISHED (renditions announced, more owed)."""
        ...

    async def mark_processed(self, upload_id: int, media: bytes) -> bool:
        """RECEIVED or PUBLISHED -> PROCESSED; False when it was in neither (deleted)."""
        ...

    async def mark_failed(self, upload_id: int, reason: str) -> None:
        """OPEN or RECEIVED -> FAILED; published media never fails."""
        ...

    async def mark_deleted(self, upload_id: int, reason: str) -> None:
        """Any state -> DELETED (its post was deleted), with the reason its URL answers 410
        with; final, and idempotent."""
        ...

    async def record_attempt(self, upload_id: int, attempts: int) -> None:
        """Counts a processing attempt; also marks the upload as worked on now."""
        ...

    async def in_state(self, state: UploadState) -> list[Upload]:
        """Uploads that still owe work: OPEN, RECEIVED or PUBLISHED."""
        ...

    async def expired_open(self, now_ms: int) -> list[Upload]: ...

    async def open_of_author(self, author_id: int, now_ms: int) -> tuple[int, int]:
        """How many unexpired slots the author has OPEN (waiting for bytes), and the bytes
        they declared: what the author may still park in staging."""
        ...

    async def of_author(self, author_id: int, limit: int) -> list[Upload]:
        """Up to `limit` uploads of the author in any state, oldest first: what an erasure
        deletes."""
        ...

    async def erase(self, upload: Upload) -> None:
        """The upload's row and every index entry of it go (its account is erased); an
        update arriving later finds nothing to change. Idempotent."""
        ...

    async def media_for_content(self, sha256: str) -> bytes | None:
        """The finished media of an earlier upload of the same bytes."""
        ...

    async def remember_content(self, sha256: str, media: bytes) -> None: ...

    async def forget_content(self, sha256: str) -> None:
        """Its media's renditions were deleted: an identical upload is processed afresh."""
        ...

    async def add_rendition_refs(self, upload_id: int, names: Sequence[str]) -> None:
        """The upload uses these renditions (`<digest>.<extension>`); idempotent."""
        ...

    async def drop_rendition_refs(self, upload_id: int, names: Sequence[str]) -> None:
        """The upload no longer uses them; idempotent."""
        ...

    async def rendition_referenced(self, name: str) -> bool:
        """Whether any upload uses the rendition."""
        ...

    async def claim(self, upload_id: int, work: str, owner: str, ttl_s: int) -> bool:
        """Takes the upload's `work` (receiving its bytes, processing it: one process at a
        time does each) for `ttl_s` seconds if nobody holds it or its holder's time ran out;
        the holder claiming again extends its time. Says whether `owner` holds it now."""
        ...

    async def release(self, upload_id: int, work: str, owner: str) -> None:
        """Frees the work if `owner` holds it."""
        ...

    async def holder(self, upload_id: int, work: str) -> str | None:
        """Who holds the work; None when nobody does."""
        ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int


class ObjectStore(Protocol):
    """Named byte objects, written whole and never changed in place: the S3 model, which the
    embedded default follows with files (tests/contract/test_object_store.py). Keys are
    `/`-separated paths of URL-safe characters."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Stores the file's bytes under `key`, replacing any object there; durable on return."""
        ...

    async def fetch(self, key: str, target: Path) -> bool:
        """Writes the object's bytes to `target`; False (and no file) when there is none."""
        ...

    async def read(
        self, key: str, first: int = 0, last: int | None = None
    ) -> tuple[AsyncGenerator[bytes, None], int] | None:
        """The object's bytes `first`..`last` (inclusive; to the end without `last`) as
        chunks, and the object's whole size; None when there is none."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes; None when there is none."""
        ...

    async def copy(self, source: str, target: str) -> bool:
        """Copies the object inside the store (no bytes through this process), replacing any
        object at `target`; False when `source` is missing."""
        ...

    async def list(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with `prefix`, in key order."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Deletes the objects; missing ones are no error."""
        ...

"""Media store interfaces; every backend passes the contract tests in tests/contract/."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

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


class BlobStore(Protocol):
    def staging_path(self, upload_id: int) -> Path:
        """Where an upload's bytes collect until they are complete (tus appends here)."""
        ...

    async def staged_bytes(self, upload_id: int) -> int: ...

    async def discard_staging(self, upload_id: int) -> None:
        """Drops partial bytes of an upload (finished elsewhere, failed or expired)."""
        ...

    def original_path(self, upload_id: int) -> Path: ...

    async def discard_original(self, upload_id: int) -> None:
        """Deletes an upload's original (its post was deleted); idempotent."""
        ...

    async def put_original(self, upload_id: int, source: Path) -> str:
        """Moves a fully written, synced file into place; returns its SHA-256."""
        ...

    async def work_dir(self, upload_id: int) -> Path:
        """An empty folder for one processing attempt's output."""
        ...

    async def discard_work(self, upload_id: int) -> None:
        """Drops every attempt's output and the kept decoded image."""
        ...

    async def keep_decoded(self, upload_id: int, source: Path) -> None:
        """Keeps a photo job's decoded image (if it wrote one) for the upload's later jobs,
        until `discard_work`."""
        ...

    async def decoded(self, upload_id: int) -> Path | None:
        """The kept decoded image, if there is one."""
        ...

    async def rendition_digest(self, source: Path) -> str:
        """The content address a finished file will be stored under."""
        ...

    async def put_rendition(self, source: Path, digest: str, extension: str) -> None:
        """Moves a finished file under its content address (`rendition_digest`)."""
        ...

    async def delete_rendition(
        self, digest: str, extension: str, still_used: Callable[[], Awaitable[bool]]
    ) -> None:
        """Deletes a rendition unless `still_used()`, asked once it can no longer be served:
        an upload that claims it meanwhile either finds it gone (and stores it again) or
        keeps it. Idempotent."""
        ...

    async def finish_deletions(self, still_used: Callable[[str], Awaitable[bool]]) -> None:
        """Settles deletions a crash cut short: each rendition is restored if `still_used`
        by its name, else deleted."""
        ...

    async def open_rendition(self, digest: str, extension: str) -> tuple[BinaryIO, int] | None:
        """The rendition opened for reading, and its size; None when it is not stored. Once
        open, it reads to its end even if it is deleted meanwhile. The caller closes it."""
        ...

    async def rendition_file(self, digest: str, extension: str) -> tuple[Path, int] | None:
        """Where a rendition is and how many bytes it has; None when it is not stored."""
        ...

    async def verify_rendition(self, digest: str, extension: str) -> bool:
        """The rendition is there and its bytes still hash to its name."""
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
    ) -> tuple[AsyncIterator[bytes], int] | None:
        """The object's bytes `first`..`last` (inclusive; to the end without `last`) as
        chunks, and the object's whole size; None when there is none."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes; None when there is none."""
        ...

    async def list(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with `prefix`, in key order."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Deletes the objects; missing ones are no error."""
        ...

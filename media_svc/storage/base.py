"""Media store interfaces; every backend passes the contract tests in tests/contract/."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from media_svc.models import Upload


class UploadStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def create(self, upload: Upload) -> None:
        """Opens a slot; opening the same slot again is a no-op that keeps the first."""
        ...

    async def get(self, upload_id: int) -> Upload | None: ...

    async def mark_received(self, upload_id: int) -> bool:
        """OPEN -> RECEIVED; False when the slot already had its bytes."""
        ...

    async def mark_processed(self, upload_id: int, media: bytes) -> None: ...

    async def mark_failed(self, upload_id: int, reason: str) -> None: ...

    async def in_state_received(self) -> list[Upload]:
        """Uploads whose processing is owed (e.g. interrupted by a restart)."""
        ...

    async def expired_open(self, now_ms: int) -> list[Upload]: ...


class BlobStore(Protocol):
    async def put_original(self, upload_id: int, source: Path) -> Path:
        """Moves a fully written, synced temp file into place; returns where it lives."""
        ...

    def original_path(self, upload_id: int) -> Path: ...

    def staging_path(self, upload_id: int) -> Path:
        """Where an incoming upload is written before it is complete."""
        ...

    async def put_rendition(self, digest: str, extension: str, data: bytes) -> None:
        """Stores under a content address; storing the same bytes twice is a no-op."""
        ...

    async def get_rendition(self, digest: str, extension: str) -> bytes | None: ...

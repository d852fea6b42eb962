"""MediaFiles on the embedded object store: a resumable upload's pieces and their offsets."""

from __future__ import annotations

from pathlib import Path

from media_svc.media_files import MediaFiles
from media_svc.storage.file_objects import FileObjectStore


def piece(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "piece"
    path.write_bytes(data)
    return path


async def test_only_pieces_that_continue_each_other_make_the_upload(tmp_path: Path) -> None:
    objects = FileObjectStore(tmp_path / "objects")
    await objects.open()
    files = MediaFiles(objects, tmp_path / "scratch")
    await files.open()
    await files.stage(5, 0, piece(tmp_path, b"0123456789"))
    await files.stage(5, 15, piece(tmp_path, b"stray"))  # past a gap: a writer lost its claim
    assert await files.staged_bytes(5) == 10
    await files.stage(5, 10, piece(tmp_path, b"abcdefghij"))  # overlaps the stray one
    assert await files.staged_bytes(5) == 20
    assert await files.staged_head(5, 12) == b"0123456789ab"
    whole = tmp_path / "whole"
    await files.assemble(5, whole)
    assert whole.read_bytes() == b"0123456789abcdefghij"
    await files.discard_staging(5)
    assert await files.staged_bytes(5) == 0
    assert await objects.list("uploads/") == []

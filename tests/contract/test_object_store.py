"""ObjectStore contract (files embedded, SeaweedFS's S3 in production): whole objects put,
fetched, read by range, listed by prefix and deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from media_svc.storage.base import StoredObject
from media_svc.storage.s3_objects import MULTIPART_FROM


def file_with(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def read_all(store: Any, key: str, first: int = 0, last: int | None = None) -> bytes:
    found = await store.read(key, first, last)
    assert found is not None
    chunks, _ = found
    return b"".join([chunk async for chunk in chunks])


async def test_an_object_is_put_whole_and_read_back(object_store: Any, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    await object_store.put("media/ab/abc.jpg", file_with(tmp_path, "a", data), "image/jpeg")
    assert await object_store.size("media/ab/abc.jpg") == len(data)
    assert await read_all(object_store, "media/ab/abc.jpg") == data
    target = tmp_path / "fetched"
    assert await object_store.fetch("media/ab/abc.jpg", target)
    assert target.read_bytes() == data


async def test_ranges_read_part_of_an_object_and_report_its_whole_size(
    object_store: Any, tmp_path: Path
) -> None:
    data = b"0123456789" * 100
    await object_store.put("o", file_with(tmp_path, "a", data), "application/octet-stream")
    assert await read_all(object_store, "o", 10, 19) == data[10:20]
    assert await read_all(object_store, "o", 990) == data[990:]
    found = await object_store.read("o", 5, 9)
    assert found is not None
    assert found[1] == len(data)
    async for _ in found[0]:  # read to the end: the stream is closed
        pass


async def test_a_put_replaces_and_a_missing_object_is_none(
    object_store: Any, tmp_path: Path
) -> None:
    await object_store.put("k", file_with(tmp_path, "a", b"first"), "text/plain")
    await object_store.put("k", file_with(tmp_path, "b", b"second!"), "text/plain")
    assert await read_all(object_store, "k") == b"second!"
    assert await object_store.read("missing") is None
    assert await object_store.size("missing") is None
    assert not await object_store.fetch("missing", tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


async def test_listing_by_prefix_and_deleting(object_store: Any, tmp_path: Path) -> None:
    for key in ("uploads/7/part-0", "uploads/7/part-10", "uploads/70/part-0", "media/x"):
        await object_store.put(key, file_with(tmp_path, "a", key.encode()), "text/plain")
    listed = await object_store.list("uploads/7/")
    assert listed == [
        StoredObject("uploads/7/part-0", len("uploads/7/part-0")),
        StoredObject("uploads/7/part-10", len("uploads/7/part-10")),
    ]
    assert [o.key for o in await object_store.list("uploads/7")] == [
        "uploads/7/part-0",
        "uploads/7/part-10",
        "uploads/70/part-0",
    ]
    await object_store.delete(["uploads/7/part-0", "uploads/7/part-10", "never/was"])
    assert await object_store.list("uploads/7/") == []
    assert await object_store.size("uploads/70/part-0") is not None


async def test_a_large_object_goes_in_parts(object_store: Any, tmp_path: Path) -> None:
    data = b"x" * (MULTIPART_FROM + 123)
    await object_store.put("big", file_with(tmp_path, "big", data), "video/mp4")
    assert await object_store.size("big") == len(data)
    assert await read_all(object_store, "big", MULTIPART_FROM) == b"x" * 123


async def test_a_copy_is_made_inside_the_store(object_store: Any, tmp_path: Path) -> None:
    await object_store.put("media/ab/abc.jpg", file_with(tmp_path, "a", b"jpeg"), "image/jpeg")
    await object_store.put("deleting/ab/abc.jpg", file_with(tmp_path, "b", b"old"), "image/jpeg")
    assert await object_store.copy("media/ab/abc.jpg", "deleting/ab/abc.jpg")
    await object_store.delete(["media/ab/abc.jpg"])
    assert await read_all(object_store, "deleting/ab/abc.jpg") == b"jpeg"
    assert not await object_store.copy("media/ab/abc.jpg", "elsewhere")
    assert await object_store.size("elsewhere") is None

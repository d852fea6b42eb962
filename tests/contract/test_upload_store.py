"""UploadStore contract."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from common.ids import now_ms
from media_svc.models import Upload, UploadState
from media_svc.storage.base import UploadStore


def slot(upload_id: int, expires_at_ms: int = 10_000) -> Upload:
    return Upload(upload_id, 7, "PHOTO", "image/jpeg", 1234, expires_at_ms)


def ids(uploads: list[Upload]) -> list[int]:
    return sorted(u.upload_id for u in uploads)


async def test_states_move_forward_only(upload_store: UploadStore) -> None:
    await upload_store.create(slot(1))
    await upload_store.create(slot(1, expires_at_ms=1))  # a retried open keeps the first slot
    opened = await upload_store.get(1)
    assert opened is not None
    assert opened.updated_at_ms > 0
    assert replace(opened, updated_at_ms=0) == slot(1)
    assert await upload_store.mark_received(1, "ab" * 32) is True
    assert await upload_store.mark_received(1, "cd" * 32) is False
    assert ids(await upload_store.in_state(UploadState.RECEIVED)) == [1]
    assert await upload_store.mark_published(1, b"jpeg+webp") is True
    assert ids(await upload_store.in_state(UploadState.RECEIVED)) == []
    assert ids(await upload_store.in_state(UploadState.PUBLISHED)) == [1]
    await upload_store.mark_failed(1, "too late")  # published media never fails
    await upload_store.mark_processed(1, b"jpeg+webp+avif")
    assert await upload_store.in_state(UploadState.PUBLISHED) == []
    done = await upload_store.get(1)
    assert done is not None
    assert (done.state, done.media, done.failure_reason, done.sha256) == (
        UploadState.PROCESSED,
        b"jpeg+webp+avif",
        None,
        "ab" * 32,
    )
    assert await upload_store.get(2) is None


async def test_attempts_are_counted(upload_store: UploadStore) -> None:
    await upload_store.create(slot(1))
    await upload_store.mark_received(1, "ab" * 32)
    before = await upload_store.get(1)
    await upload_store.record_attempt(1, 2)
    after = await upload_store.get(1)
    assert before is not None
    assert after is not None
    assert (before.attempts, after.attempts) == (0, 2)
    assert after.updated_at_ms >= before.updated_at_ms
    assert after.state is UploadState.RECEIVED


async def test_received_uploads_can_fail_and_processed_ones_skip_publishing(
    upload_store: UploadStore,
) -> None:
    for upload_id in (1, 2):
        await upload_store.create(slot(upload_id))
        await upload_store.mark_received(upload_id, "ab" * 32)
    await upload_store.mark_failed(1, "the photo could not be decoded")
    await upload_store.mark_processed(2, b"video")  # videos owe nothing after publishing
    assert await upload_store.in_state(UploadState.RECEIVED) == []
    failed, done = await upload_store.get(1), await upload_store.get(2)
    assert failed is not None
    assert failed.state is UploadState.FAILED
    assert done is not None
    assert done.state is UploadState.PROCESSED


async def test_expired_open_slots_are_found(upload_store: UploadStore) -> None:
    await upload_store.create(slot(1, expires_at_ms=100))
    await upload_store.create(slot(2, expires_at_ms=100))
    await upload_store.create(slot(3, expires_at_ms=900))
    await upload_store.mark_received(2, "ab" * 32)
    assert ids(await upload_store.expired_open(500)) == [1]
    assert ids(await upload_store.in_state(UploadState.OPEN)) == [1, 3]
    await upload_store.mark_failed(1, "expired")
    failed = await upload_store.get(1)
    assert failed is not None
    assert (failed.state, failed.failure_reason) == (UploadState.FAILED, "expired")
    assert await upload_store.expired_open(500) == []


async def test_media_is_remembered_by_content(upload_store: UploadStore) -> None:
    assert await upload_store.media_for_content("ab" * 32) is None
    await upload_store.remember_content("ab" * 32, b"media")
    await upload_store.remember_content("ab" * 32, b"media, reprocessed")
    assert await upload_store.media_for_content("ab" * 32) == b"media, reprocessed"
    assert await upload_store.media_for_content("cd" * 32) is None


async def test_an_authors_open_slots_are_counted_until_they_leave_open_or_expire(
    upload_store: UploadStore,
) -> None:
    assert await upload_store.open_of_author(7, 5_000) == (0, 0)
    for upload_id, expires_at_ms in ((1, 10_000), (2, 10_000), (3, 6_000)):
        await upload_store.create(slot(upload_id, expires_at_ms))
    await upload_store.create(Upload(4, 10, "PHOTO", "image/jpeg", 500, 10_000))  # not 7's
    assert await upload_store.open_of_author(7, 5_000) == (3, 3 * 1234)
    assert await upload_store.open_of_author(7, 7_000) == (2, 2 * 1234)  # slot 3 expired
    assert await upload_store.mark_received(1, "ab" * 32)
    await upload_store.mark_failed(2, "gone")
    assert await upload_store.open_of_author(7, 5_000) == (1, 1234)


async def test_any_state_can_be_deleted_and_nothing_leaves_deleted(
    upload_store: UploadStore,
) -> None:
    await upload_store.create(slot(1))
    await upload_store.create(slot(2))
    await upload_store.mark_received(2, "ab" * 32)
    await upload_store.mark_published(2, b"jpeg")
    for upload_id in (1, 2):
        await upload_store.mark_deleted(upload_id, "the post was deleted")
        await upload_store.mark_deleted(upload_id, "again")  # idempotent: the first reason
        deleted = await upload_store.get(upload_id)
        assert deleted is not None
        assert (deleted.state, deleted.failure_reason) == (
            UploadState.DELETED,
            "the post was deleted",
        )
    assert await upload_store.mark_processed(2, b"jpeg+avif") is False  # a worker finishing late
    assert await upload_store.mark_received(1, "cd" * 32) is False
    await upload_store.mark_failed(1, "expired")
    assert (await upload_store.get(1)).state is UploadState.DELETED  # type: ignore[union-attr]
    for state in (UploadState.OPEN, UploadState.RECEIVED, UploadState.PUBLISHED):
        assert await upload_store.in_state(state) == []  # nothing is owed for them
    assert await upload_store.open_of_author(7, 0) == (0, 0)


async def test_a_rendition_is_referenced_while_any_upload_uses_it(
    upload_store: UploadStore,
) -> None:
    assert not await upload_store.rendition_referenced("aa.jpg")
    await upload_store.add_rendition_refs(1, ["aa.jpg", "bb.webp"])
    await upload_store.add_rendition_refs(1, ["aa.jpg"])  # again: still one reference
    await upload_store.add_rendition_refs(2, ["aa.jpg"])
    await upload_store.drop_rendition_refs(1, ["aa.jpg", "bb.webp"])
    assert await upload_store.rendition_referenced("aa.jpg")  # upload 2's
    assert not await upload_store.rendition_referenced("bb.webp")
    await upload_store.drop_rendition_refs(2, ["aa.jpg"])
    await upload_store.drop_rendition_refs(2, ["aa.jpg"])  # again: nothing changes
    assert not await upload_store.rendition_referenced("aa.jpg")

    await upload_store.remember_content("ab" * 32, b"media")
    await upload_store.forget_content("ab" * 32)
    assert await upload_store.media_for_content("ab" * 32) is None


async def test_an_authors_uploads_are_found_in_any_state_and_erased_with_their_entries(
    upload_store: UploadStore,
) -> None:
    for upload_id in (1, 2, 3):
        await upload_store.create(slot(upload_id, expires_at_ms=now_ms() + 3_600_000))
    await upload_store.create(replace(slot(4), author_id=8))
    await upload_store.mark_received(2, "ab" * 32)
    await upload_store.mark_deleted(3, "its post was deleted")
    await upload_store.add_rendition_refs(2, ["a.jpg"])
    assert ids(await upload_store.of_author(7, 10)) == [1, 2, 3]
    assert ids(await upload_store.of_author(7, 2)) == [1, 2]

    for upload in await upload_store.of_author(7, 10):
        await upload_store.erase(upload)
        await upload_store.erase(upload)  # again: the same
    assert await upload_store.of_author(7, 10) == []
    assert [await upload_store.get(i) for i in (1, 2, 3)] == [None, None, None]
    assert await upload_store.in_state(UploadState.OPEN) == [await upload_store.get(4)]
    assert await upload_store.in_state(UploadState.RECEIVED) == []
    assert await upload_store.open_of_author(7, 0) == (0, 0)
    # A late state change finds nothing to bring back.
    assert await upload_store.mark_processed(2, b"late") is False
    await upload_store.record_attempt(2, 3)
    assert await upload_store.get(2) is None
    assert ids(await upload_store.of_author(8, 10)) == [4]


async def test_one_process_at_a_time_holds_an_uploads_work(upload_store: UploadStore) -> None:
    assert await upload_store.holder(1, "receive") is None
    assert await upload_store.claim(1, "receive", "a", 30)
    assert not await upload_store.claim(1, "receive", "b", 30)
    assert await upload_store.claim(1, "receive", "a", 30)  # its holder extends it
    assert await upload_store.claim(1, "process", "b", 30)  # other work is separate
    assert await upload_store.claim(2, "receive", "b", 30)  # so is another upload
    await upload_store.release(1, "receive", "b")  # not b's: nothing changes
    assert await upload_store.holder(1, "receive") == "a"
    await upload_store.release(1, "receive", "a")
    assert await upload_store.holder(1, "receive") is None
    assert await upload_store.claim(1, "receive", "b", 30)


async def test_a_claim_its_holder_stops_extending_runs_out(upload_store: UploadStore) -> None:
    claimed_at = time.monotonic()
    assert await upload_store.claim(3, "process", "crashed", 2)
    while not await upload_store.claim(3, "process", "next", 30):
        assert time.monotonic() - claimed_at < 10, "the claim did not run out"
        await asyncio.sleep(0.1)
    # Cassandra counts whole seconds: a 2 s claim may end up to a second early, never later.
    assert time.monotonic() - claimed_at >= 1.0
    assert not await upload_store.claim(3, "process", "crashed", 2)

"""UploadStore contract."""

from __future__ import annotations

from media_svc.models import Upload, UploadState
from media_svc.storage.base import UploadStore


def slot(upload_id: int, expires_at_ms: int = 10_000) -> Upload:
    return Upload(upload_id, 7, "PHOTO", "image/jpeg", 1234, expires_at_ms)


async def test_states_move_forward_only(upload_store: UploadStore) -> None:
    await upload_store.create(slot(1))
    await upload_store.create(slot(1, expires_at_ms=1))  # a retried open keeps the first slot
    assert (await upload_store.get(1)) == slot(1)
    assert await upload_store.mark_received(1) is True
    assert await upload_store.mark_received(1) is False
    assert [u.upload_id for u in await upload_store.in_state_received()] == [1]
    await upload_store.mark_processed(1, b"media")
    await upload_store.mark_failed(1, "too late")
    done = await upload_store.get(1)
    assert done is not None
    assert (done.state, done.media, done.failure_reason) == (UploadState.PROCESSED, b"media", None)
    assert await upload_store.get(2) is None


async def test_expired_open_slots_are_found(upload_store: UploadStore) -> None:
    await upload_store.create(slot(1, expires_at_ms=100))
    await upload_store.create(slot(2, expires_at_ms=100))
    await upload_store.create(slot(3, expires_at_ms=900))
    await upload_store.mark_received(2)
    assert [u.upload_id for u in await upload_store.expired_open(500)] == [1]
    await upload_store.mark_failed(1, "expired")
    failed = await upload_store.get(1)
    assert failed is not None
    assert (failed.state, failed.failure_reason) == (UploadState.FAILED, "expired")
    assert await upload_store.expired_open(500) == []

"""Upload slots, PUT and tus receiving, publishing, AVIF, dedupe, reconciling and expiry.

The processor is a fake (the real pipeline is tested in test_imaging/test_video and end to
end); stores and files are the real embedded ones.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from photoshare.media.v1 import media_pb2

from common.errors import (
    Conflict,
    FailedPrecondition,
    Gone,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from common.signing import Signer
from media_svc.claims import PROCESSING, RECEIVING, ProcessName
from media_svc.decoding.contract import DECODED_TYPE
from media_svc.media_files import MediaFiles, rendition_key
from media_svc.models import Upload, UploadState
from media_svc.pipeline import EXPIRED_REASON, MediaPipeline, PipelinePolicy
from media_svc.renditions import Renditions
from media_svc.storage.file_objects import FileObjectStore
from media_svc.uploads import UploadPolicy, Uploads
from tests.unit.media_svc.conftest import JPEG, World


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def broken(*chunks: bytes) -> AsyncIterator[bytes]:
    """A request body whose connection drops after these chunks."""
    for chunk in chunks:
        yield chunk
    raise ConnectionResetError("client went away")


async def stored(world: World, digest: str, extension: str) -> Path:
    """The file the embedded object store keeps the rendition in."""
    path = world.objects_root / rendition_key(digest, extension)
    assert path.exists()
    return path


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


async def uploaded(world: World, upload_id: int, data: bytes = JPEG) -> None:
    target = await world.uploads.open_slot(upload_id, 9, "PHOTO", "image/jpeg", len(data))
    await world.uploads.receive(upload_id, token_of(target.url), body(data), content_length=None)


async def test_upload_is_published_then_gains_avif(world: World) -> None:
    target = await world.uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    assert target.url.startswith("http://cdn/uploads/5?token=")
    token = token_of(target.url)
    await world.uploads.receive(5, token, body(JPEG[:10], JPEG[10:]), content_length=None)
    await world.pipeline.process(5)
    [(post_id, media)] = world.events.processed
    assert post_id == 5
    assert (media.width, media.height) == (4, 3)
    assert media.aspect_ratio == pytest.approx(4 / 3)
    assert media.placeholder.color == "#000000"
    [jpeg] = media.renditions
    assert jpeg.url.startswith("http://cdn/media/")
    assert jpeg.url.endswith(".jpg")
    digest = jpeg.url.rsplit("/", 1)[1].removesuffix(".jpg")
    assert (await stored(world, digest, "jpg")).read_bytes() == b"photo" + JPEG
    assert (await world.store.get(5)).state is UploadState.PUBLISHED  # type: ignore[union-attr]

    await world.pipeline.enhance(5)
    [(_, fuller)] = world.events.updated
    assert [r.content_type for r in fuller.renditions] == ["image/jpeg", "image/avif"]
    assert fuller.renditions[1].url.endswith(".avif")
    assert (await world.store.get(5)).state is UploadState.PROCESSED  # type: ignore[union-attr]
    assert world.processor.jobs == ["photo", "avif"]
    # The AVIF job was given what the photo job decoded, not the original to decode again.
    [_, (_, content_type)] = world.processor.sources
    assert content_type == DECODED_TYPE
    assert (await stored(world, _digest(fuller.renditions[1]), "avif")).read_bytes() == (
        b"avif" + b"decoded " + JPEG
    )
    assert await world.files.decoded(5) is None  # dropped with the rest of the work files


def _digest(rendition: media_pb2.Rendition) -> str:
    return rendition.url.rsplit("/", 1)[1].split(".")[0]


async def test_originals_and_partial_uploads_are_private(world: World, tmp_path: Path) -> None:
    target = await world.uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    token = token_of(target.url)
    await world.uploads.append(5, token, 0, body(JPEG[:10]))  # a tus upload, half done
    [piece] = (world.objects_root / "uploads/5.parts").iterdir()
    assert stat.S_IMODE(piece.stat().st_mode) == 0o600
    await world.uploads.append(5, token, 10, body(JPEG[10:]))
    original = world.objects_root / "uploads/5"
    assert stat.S_IMODE(original.stat().st_mode) == 0o600  # EXIF, GPS
    for folder in (world.objects_root, original.parent, tmp_path / "scratch"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_url_must_be_unchanged_and_unexpired(world: World) -> None:
    uploads, clock = world.uploads, world.clock
    target = await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    with pytest.raises(PermissionDenied, match="not valid"):
        await uploads.receive(6, token_of(target.url), body(JPEG), content_length=len(JPEG))
    with pytest.raises(PermissionDenied, match="not valid"):
        await uploads.receive(5, token_of(target.url)[::-1], body(JPEG), content_length=None)
    clock.now += 61_000
    with pytest.raises(PermissionDenied, match="expired"):
        await uploads.receive(5, token_of(target.url), body(JPEG), content_length=len(JPEG))
    with pytest.raises(PermissionDenied, match="expired"):
        await uploads.progress(5, token_of(target.url))


async def test_bytes_must_match_the_declared_size(world: World) -> None:
    uploads = world.uploads
    target = await uploads.open_slot(6, 9, "PHOTO", "image/jpeg", len(JPEG))
    token = token_of(target.url)
    with pytest.raises(InvalidArgument, match="more than the declared"):
        await uploads.receive(6, token, body(JPEG, b"x"), content_length=None)
    with pytest.raises(InvalidArgument, match="arrived"):
        await uploads.receive(6, token, body(JPEG[:-1]), content_length=None)
    await uploads.receive(6, token, body(JPEG), content_length=len(JPEG))
    with pytest.raises(FailedPrecondition, match="already uploaded"):
        await uploads.receive(6, token, body(JPEG), content_length=len(JPEG))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (JPEG, "is a JPEG"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "is an SVG drawing"),
        (b"GIF89a" + b"\0" * 30, "is a GIF"),
        (b"#!/bin/sh\nrm -rf /\n" + b"\0" * 20, "is not a file we accept"),
    ],
)
async def test_a_file_of_another_type_fails_its_post_at_once(
    world: World, data: bytes, what: str
) -> None:
    target = await world.uploads.open_slot(5, 9, "PHOTO", "image/png", len(data))
    with pytest.raises(InvalidArgument, match=what):
        await world.uploads.receive(5, token_of(target.url), body(data), content_length=None)
    [(post_id, reason)] = world.events.failed
    assert post_id == 5
    assert what in reason
    assert (await world.store.get(5)).state is UploadState.FAILED  # type: ignore[union-attr]


async def test_slot_spec_is_validated(world: World) -> None:
    uploads = world.uploads
    with pytest.raises(InvalidArgument, match="image/gif"):
        await uploads.open_slot(5, 9, "PHOTO", "image/gif", 10)
    with pytest.raises(InvalidArgument, match="sizeBytes"):
        await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", 0)
    with pytest.raises(InvalidArgument, match="PHOTO or VIDEO"):
        await uploads.open_slot(5, 9, "UNSPECIFIED", "image/jpeg", 10)
    with pytest.raises(InvalidArgument, match="for a VIDEO"):
        await uploads.open_slot(5, 9, "VIDEO", "image/jpeg", 10)
    with pytest.raises(InvalidArgument, match="sizeBytes"):
        await uploads.open_slot(5, 9, "VIDEO", "video/mp4", 301 * 1024 * 1024)
    await uploads.open_slot(5, 9, "VIDEO", "video/quicktime", 100 * 1024 * 1024)


async def test_tus_resumes_where_the_connection_broke(world: World) -> None:
    uploads = world.uploads
    target = await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    token = token_of(target.url)
    assert (await uploads.progress(5, token)).offset == 0
    with pytest.raises(ConnectionResetError):
        await uploads.append(5, token, 0, broken(JPEG[:20], JPEG[20:30]))
    progress = await uploads.progress(5, token)
    assert (progress.offset, progress.length) == (30, len(JPEG))
    with pytest.raises(FailedPrecondition, match="Upload-Offset is 0 but 30"):
        await uploads.append(5, token, 0, body(JPEG))
    assert (await uploads.append(5, token, 30, body(JPEG[30:50]))).offset == 50
    assert world.pipeline._to_process.empty()
    done = await uploads.append(5, token, 50, body(JPEG[50:]))
    assert (done.offset, done.length) == (len(JPEG), len(JPEG))
    assert (await uploads.progress(5, token)).offset == len(JPEG)
    assert (await world.store.get(5)).state is UploadState.RECEIVED  # type: ignore[union-attr]
    await world.pipeline.process(5)
    [(_, media)] = world.events.processed
    digest = media.renditions[0].url.rsplit("/", 1)[1].removesuffix(".jpg")
    assert (await stored(world, digest, "jpg")).read_bytes() == b"photo" + JPEG
    with pytest.raises(FailedPrecondition, match="already uploaded"):
        await uploads.append(5, token, len(JPEG), body(b"x"))


async def test_tus_checks_the_type_once_the_first_bytes_are_in(world: World) -> None:
    target = await world.uploads.open_slot(5, 9, "PHOTO", "image/png", len(JPEG))
    token = token_of(target.url)
    assert (await world.uploads.append(5, token, 0, body(JPEG[:8]))).offset == 8
    with pytest.raises(InvalidArgument, match="is a JPEG"):
        await world.uploads.append(5, token, 8, body(JPEG[8:20]))
    with pytest.raises(FailedPrecondition, match="upload failed: the file is a JPEG"):
        await world.uploads.progress(5, token)
    assert await world.files.staged_bytes(5) == 0


async def test_rejected_media_and_expired_slots_fail_their_post(world: World) -> None:
    await uploaded(world, 5)
    target = await world.uploads.open_slot(6, 9, "PHOTO", "image/jpeg", len(JPEG))
    await world.uploads.append(6, token_of(target.url), 0, body(JPEG[:20]))
    world.processor.reject = "the photo could not be decoded: truncated"
    await world.pipeline.process(5)
    world.clock.now += 61_000
    assert await world.pipeline.expire_stale() == 1
    assert world.events.failed == [
        (5, "the photo could not be decoded: truncated"),
        (6, EXPIRED_REASON),
    ]
    assert (await world.store.get(6)).state is UploadState.FAILED  # type: ignore[union-attr]
    assert await world.files.staged_bytes(6) == 0  # the partial bytes are gone


async def test_identical_uploads_reuse_verified_renditions(world: World) -> None:
    await uploaded(world, 5)
    await world.pipeline.process(5)
    await world.pipeline.enhance(5)
    await uploaded(world, 6)
    await world.pipeline.process(6)
    assert world.processor.jobs == ["photo", "avif"]  # nothing decoded for the copy
    first, second = world.events.processed[0][1], world.events.processed[1][1]
    assert len(second.renditions) == 2
    assert second.renditions[0] == first.renditions[0]
    assert (await world.store.get(6)).state is UploadState.PROCESSED  # type: ignore[union-attr]

    # A damaged stored rendition is not trusted: the third copy is processed afresh.
    digest, _, extension = first.renditions[0].url.rsplit("/", 1)[1].partition(".")
    (await stored(world, digest, extension)).write_bytes(b"bit rot")
    await uploaded(world, 7)
    await world.pipeline.process(7)
    assert world.processor.jobs == ["photo", "avif", "photo"]
    assert await world.files.verify_rendition(digest, extension)  # and it is repaired


async def test_reconciler_takes_over_dead_work_and_gives_up_after_the_attempts(
    world: World,
) -> None:
    await uploaded(world, 5)  # queued, but pretend the process died before working on it
    pipeline = world.pipeline
    pipeline._to_process.get_nowait()
    pipeline._queued.clear()
    await world.store.claim(5, PROCESSING, "media-2/job", 30)  # another replica is at it
    assert await pipeline.reconcile() == 0
    await world.store.release(5, PROCESSING, "media-2/job")  # or its claim ran out
    assert await pipeline.reconcile() == 1
    assert pipeline._to_process.get_nowait()[0] == 5
    pipeline._queued.clear()

    world.processor.reject = None
    for _ in range(3):  # each attempt "dies" before it can record an outcome
        upload = await world.store.get(5)
        await world.store.record_attempt(5, upload.attempts + 1)  # type: ignore[union-attr]
    await pipeline.process(5)
    [(post_id, reason)] = world.events.failed
    assert post_id == 5
    assert "stopped unfinished 3 times" in reason
    assert world.processor.jobs == []


async def test_a_writer_in_progress_holds_off_others_until_it_has_saved(world: World) -> None:
    uploads = world.uploads
    target = await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    token = token_of(target.url)
    started, release = asyncio.Event(), asyncio.Event()

    async def stalls_then_breaks() -> AsyncIterator[bytes]:
        yield JPEG[:20]
        started.set()  # the first chunk is written
        await release.wait()
        raise ConnectionResetError("client went away")

    first = asyncio.create_task(uploads.append(5, token, 0, stalls_then_breaks()))
    await started.wait()
    uploads._writers._wait_s = 0.05
    with pytest.raises(FailedPrecondition, match="another request is sending"):
        await uploads.progress(5, token)
    with pytest.raises(FailedPrecondition, match="another request is sending"):
        await uploads.append(5, token, 20, body(JPEG[20:]))
    uploads._writers._wait_s = 5.0
    waiting = asyncio.create_task(uploads.progress(5, token))
    release.set()
    assert (await waiting).offset == 20  # reported once the broken writer had saved
    with pytest.raises(ConnectionResetError):
        await first
    assert (await uploads.append(5, token, 20, body(JPEG[20:]))).offset == len(JPEG)


async def test_an_avatar_is_rendered_as_one_announced_to_its_user_without_avif(
    world: World,
) -> None:
    await uploaded(world, 5)  # the same bytes as a post's photo first
    await world.pipeline.process(5)
    target = await world.uploads.open_slot(8, 9, "AVATAR", "image/jpeg", len(JPEG))
    await world.uploads.receive(8, token_of(target.url), body(JPEG), content_length=None)
    await world.pipeline.process(8)
    # Rendered afresh as an avatar (the post's renditions are not squares), and finished.
    assert world.processor.jobs == ["photo", "avatar"]
    [(user_id, upload_id, avatar)] = world.events.avatars
    assert (user_id, upload_id, avatar.type) == (9, 8, media_pb2.MEDIA_TYPE_PHOTO)
    assert [post_id for post_id, _ in world.events.processed] == [5]  # nothing for a post
    assert (await world.store.get(8)).state is UploadState.PROCESSED  # type: ignore[union-attr]

    world.processor.reject = "the photo could not be decoded"
    await uploaded_avatar(world, 10, b"\xff\xd8\xff\xe0broken")
    await world.pipeline.process(10)
    assert world.events.avatar_failures == [(9, 10, "the photo could not be decoded")]
    assert world.events.failed == []


async def uploaded_avatar(world: World, upload_id: int, data: bytes) -> None:
    target = await world.uploads.open_slot(upload_id, 9, "AVATAR", "image/jpeg", len(data))
    await world.uploads.receive(upload_id, token_of(target.url), body(data), content_length=None)


async def test_an_avatar_must_be_a_photo(world: World) -> None:
    with pytest.raises(InvalidArgument, match="an avatar"):
        await world.uploads.open_slot(8, 9, "AVATAR", "video/mp4", 100)


async def test_a_slot_asked_again_for_the_same_post_is_the_same_target(world: World) -> None:
    first = await world.uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    world.clock.now += 1_000
    assert await world.uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG)) == first
    with pytest.raises(Conflict):
        await world.uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG) + 1)


async def test_one_author_cannot_park_uploads_without_end(world: World) -> None:
    uploads = world.uploads
    targets = [
        await uploads.open_slot(100 + i, 9, "PHOTO", "image/jpeg", len(JPEG)) for i in range(20)
    ]
    with pytest.raises(ResourceExhausted) as refused:
        await uploads.open_slot(200, 9, "PHOTO", "image/jpeg", len(JPEG))
    assert refused.value.reason == "TOO_MANY_OPEN_UPLOADS"
    await uploads.open_slot(105, 9, "PHOTO", "image/jpeg", len(JPEG))  # a retry is no new slot
    await uploads.open_slot(200, 10, "PHOTO", "image/jpeg", len(JPEG))  # others are not held up

    await uploads.receive(100, token_of(targets[0].url), body(JPEG), content_length=None)
    await uploads.open_slot(201, 9, "PHOTO", "image/jpeg", len(JPEG))  # one finished: room
    with pytest.raises(ResourceExhausted):
        await uploads.open_slot(202, 9, "PHOTO", "image/jpeg", len(JPEG))
    world.clock.now += 61_000  # every slot's URL expired: they hold nothing any more
    await uploads.open_slot(202, 9, "PHOTO", "image/jpeg", len(JPEG))


async def test_unfinished_uploads_cannot_declare_more_than_a_gigabyte(world: World) -> None:
    video = 300 * 1024 * 1024
    for upload_id in (1, 2, 3):
        await world.uploads.open_slot(upload_id, 9, "VIDEO", "video/mp4", video)
    with pytest.raises(ResourceExhausted) as refused:
        await world.uploads.open_slot(4, 9, "VIDEO", "video/mp4", video)
    assert refused.value.reason == "OPEN_UPLOAD_BYTES_EXCEEDED"
    await world.uploads.open_slot(4, 9, "PHOTO", "image/jpeg", len(JPEG))  # a photo still fits


async def test_a_deleted_posts_upload_url_is_gone_and_its_bytes_are_deleted(
    world: World,
) -> None:
    uploads = world.uploads
    pending = await uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG) * 2)
    await uploads.append(5, token_of(pending.url), 0, body(JPEG))  # half of it so far
    await uploaded(world, 6)
    assert (world.objects_root / "uploads/6").exists()
    for upload_id in (5, 6):
        await uploads.post_deleted(upload_id)
        await uploads.post_deleted(upload_id)  # again: nothing changes
    with pytest.raises(Gone, match="the post was deleted"):
        await uploads.append(5, token_of(pending.url), len(JPEG), body(JPEG))
    assert await world.files.staged_bytes(5) == 0
    assert not (world.objects_root / "uploads/6").exists()
    await uploads.post_deleted(404)  # an upload nobody opened: nothing to do


def names(media: media_pb2.Media) -> list[tuple[str, str]]:
    """(digest, extension) of each rendition."""
    return [tuple(r.url.rsplit("/", 1)[1].split(".")) for r in media.renditions]  # type: ignore[misc]


async def test_a_shared_rendition_is_deleted_with_its_last_post(world: World) -> None:
    for upload_id in (5, 6):  # the same photo posted twice: the same JPEG
        await uploaded(world, upload_id)
        await world.pipeline.process(upload_id)
    await world.pipeline.enhance(5)
    media = media_pb2.Media.FromString((await world.store.get(5)).media or b"")  # type: ignore[union-attr]
    jpeg, avif = names(media)

    await world.uploads.post_deleted(5)
    assert await world.files.rendition_size(*jpeg) is not None  # post 6 still shows it
    assert await world.files.rendition_size(*avif) is None  # only post 5 had it
    assert world.events.deleted == [(5, [media.renditions[1].url])]

    await world.uploads.post_deleted(6)
    assert await world.files.rendition_size(*jpeg) is None
    await world.uploads.post_deleted(6)  # handled again: the same purge is announced again
    jpeg_url = media.renditions[0].url
    assert world.events.deleted[1:] == [(6, [jpeg_url]), (6, [jpeg_url])]
    assert (await world.store.get(6)).state is UploadState.DELETED  # type: ignore[union-attr]

    await uploaded(world, 7)  # the same photo once more: rendered afresh, not reused
    await world.pipeline.process(7)
    assert world.processor.jobs == ["photo", "photo", "avif", "photo"]
    assert await world.files.verify_rendition(*jpeg)


async def test_media_finished_after_its_post_was_deleted_is_released(world: World) -> None:
    await uploaded(world, 5)
    world.processor.meanwhile = lambda: world.uploads.post_deleted(5)
    await world.pipeline.process(5)  # renders while the post is deleted
    [(_, media)] = world.events.processed  # announced (post_svc ignores it for a deleted post)
    [jpeg] = names(media)
    assert await world.files.rendition_size(*jpeg) is None
    assert world.events.deleted == [(5, [media.renditions[0].url])]
    assert (await world.store.get(5)).state is UploadState.DELETED  # type: ignore[union-attr]
    assert not await world.store.rendition_referenced(".".join(jpeg))

    # A photo deleted between its publishing and its AVIF: the AVIF made is released too.
    await uploaded(world, 6, b"\xff\xd8\xff\xe1" + b"\1" * 60)
    world.processor.meanwhile = None
    await world.pipeline.process(6)
    world.processor.meanwhile = lambda: world.uploads.post_deleted(6)
    await world.pipeline.enhance(6)
    [(_, fuller)] = world.events.updated
    for digest, extension in names(fuller):
        assert await world.files.rendition_size(digest, extension) is None


async def test_a_rendition_claimed_while_it_is_deleted_is_kept(world: World) -> None:
    await uploaded(world, 5)
    await world.pipeline.process(5)
    media = media_pb2.Media.FromString((await world.store.get(5)).media or b"")  # type: ignore[union-attr]
    [(digest, extension)] = names(media)
    name = f"{digest}.{extension}"
    await world.store.drop_rendition_refs(5, [name])

    async def claimed_meanwhile() -> bool:
        assert await world.files.rendition_size(digest, extension) is None  # not served now
        await world.store.add_rendition_refs(6, [name])  # an identical upload reuses it
        return await world.store.rendition_referenced(name)

    await world.files.delete_rendition(digest, extension, claimed_meanwhile)
    assert await world.files.verify_rendition(digest, extension)  # put back


async def test_a_deletion_cut_short_by_a_crash_is_settled_at_start(world: World) -> None:
    kept, dropped = b"\xff\xd8\xff\xe1" + b"\1" * 60, b"\xff\xd8\xff\xe1" + b"\2" * 60
    found = []
    for upload_id, data in ((5, kept), (6, dropped)):
        await uploaded(world, upload_id, data)
        await world.pipeline.process(upload_id)
        media = media_pb2.Media.FromString((await world.store.get(upload_id)).media or b"")  # type: ignore[union-attr]
        [(digest, extension)] = names(media)
        found.append((digest, extension))
    # The crash's leftovers: 5 set aside and no longer served, 6 set aside and still there.
    root = world.objects_root
    for (digest, extension), served in ((found[0], False), (found[1], True)):
        key = rendition_key(digest, extension)
        (root / "deleting" / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / key, root / "deleting" / key)
        if not served:
            (root / key).unlink()
    await world.store.drop_rendition_refs(6, [".".join(found[1])])  # only 6 was released

    await world.renditions.finish_deletions()
    assert await world.files.verify_rendition(*found[0])
    assert await world.files.rendition_size(*found[1]) is None
    assert not [path for path in (root / "deleting").rglob("*") if path.is_file()]


async def test_a_rendition_being_served_is_read_to_its_end_when_it_is_deleted(
    world: World,
) -> None:
    await uploaded(world, 5)
    await world.pipeline.process(5)
    media = media_pb2.Media.FromString((await world.store.get(5)).media or b"")  # type: ignore[union-attr]
    [(digest, extension)] = names(media)
    opened = await world.files.read_rendition(digest, extension)
    assert opened is not None
    chunks, size = opened
    await world.uploads.post_deleted(5)  # deleted while a GET is sending it
    assert await world.files.read_rendition(digest, extension) is None
    assert b"".join([chunk async for chunk in chunks]) == b"photo" + JPEG
    assert size == len(b"photo" + JPEG)


async def test_an_erased_authors_uploads_go_with_their_files_and_unshared_renditions(
    world: World,
) -> None:
    for upload_id in (5, 6):  # her photo, twice
        await uploaded(world, upload_id)
        await world.pipeline.process(upload_id)
    await world.uploads.post_deleted(6)  # one post she had deleted herself
    partial = await world.uploads.open_slot(7, 9, "PHOTO", "image/jpeg", len(JPEG))
    await world.uploads.append(7, token_of(partial.url), 0, body(JPEG[:10]))
    other = await world.uploads.open_slot(8, 10, "PHOTO", "image/jpeg", len(JPEG))
    await world.uploads.receive(8, token_of(other.url), body(JPEG), content_length=None)
    await world.pipeline.process(8)  # someone else's upload of the same photo
    [jpeg] = names(media_pb2.Media.FromString((await world.store.get(5)).media or b""))  # type: ignore[union-attr]

    assert await world.uploads.erase_author(9, 2) is True  # 2 at a time: one is left
    assert await world.uploads.erase_author(9, 2) is False
    assert await world.uploads.erase_author(9, 2) is False  # again: nothing to do
    assert [await world.store.get(i) for i in (5, 6, 7)] == [None, None, None]
    assert await world.files.staged_bytes(7) == 0
    assert not (world.objects_root / "uploads/5").exists()
    assert await world.files.rendition_size(*jpeg) is not None  # the other upload uses it
    await world.uploads.post_deleted(5)  # her post's event, arriving late: nothing to do
    with pytest.raises(NotFound):  # the partial upload's URL answers nothing any more
        await world.uploads.progress(7, token_of(partial.url))

    assert await world.uploads.erase_author(10, 5) is False
    assert await world.files.rendition_size(*jpeg) is None  # its last user is gone too
    with pytest.raises(InvalidArgument):
        await world.uploads.erase_author(9, 0)


async def test_another_replica_resumes_an_upload_and_processes_it(
    world: World, tmp_path: Path
) -> None:
    # A second media_svc: its own scratch folder, the stores shared with the first.
    files = MediaFiles(FileObjectStore(world.objects_root), tmp_path / "scratch-2")
    await files.open()
    pipeline = MediaPipeline(
        world.store,
        files,
        Renditions(world.store, files, world.events.publisher),
        world.processor,
        world.events.publisher,
        PipelinePolicy("http://cdn"),
        ProcessName("media-2"),
    )
    replica = Uploads(
        world.store,
        files,
        pipeline,
        Renditions(world.store, files, world.events.publisher),
        Signer(b"k", purpose="u"),
        UploadPolicy("http://cdn", 60),
        ProcessName("media-2"),
        world.clock,
    )
    target = await world.uploads.open_slot(5, 9, "PHOTO", "image/jpeg", len(JPEG))
    token = token_of(target.url)
    with pytest.raises(ConnectionResetError):
        await world.uploads.append(5, token, 0, broken(JPEG[:30]))
    assert (await replica.progress(5, token)).offset == 30
    await replica.append(5, token, 30, body(JPEG[30:]))
    assert pipeline._to_process.get_nowait()[0] == 5  # queued where it was finished

    # The first replica's reconciler finds it too: whoever claims it first processes it.
    await world.store.claim(5, PROCESSING, "media-2/job", 30)
    await world.pipeline.process(5)
    assert world.processor.jobs == []  # claimed by the other replica: left to it
    await world.store.release(5, PROCESSING, "media-2/job")
    await pipeline.process(5)
    assert world.processor.jobs == ["photo"]
    [(_, media)] = world.events.processed
    assert (await stored(world, *names(media)[0])).read_bytes() == b"photo" + JPEG


async def test_a_restarted_replica_takes_over_what_its_crashed_run_held_at_once(
    world: World,
) -> None:
    # world's replica is "media-1"; a crashed earlier run of it left claims behind.
    target = await world.uploads.open_slot(6, 9, "PHOTO", "image/jpeg", len(JPEG))
    await world.store.claim(6, RECEIVING, "media-1/crashed/request", 30)
    await world.uploads.append(6, token_of(target.url), 0, body(JPEG))  # no wait for 30 s
    pipeline = world.pipeline
    pipeline._to_process.get_nowait()  # as if the restart lost the queue
    pipeline._queued.clear()
    await world.store.claim(6, PROCESSING, "media-1/crashed/job", 30)
    await world.store.claim(7, PROCESSING, "media-2/alive/job", 30)  # another replica's
    assert await pipeline.reconcile() == 1
    await pipeline.process(6)
    assert world.processor.jobs == ["photo"]
    assert await world.store.holder(7, PROCESSING) == "media-2/alive/job"


async def test_a_sweep_that_fails_is_tried_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    tried_again = asyncio.Event()
    real = world.store.expired_open

    async def down_once(now_ms: int) -> list[Upload]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the store is down")
        tried_again.set()
        return await real(now_ms)

    monkeypatch.setattr(world.store, "expired_open", down_once)
    sweeping = asyncio.create_task(world.pipeline.run_sweeps(0))
    try:
        async with asyncio.timeout(5):
            await tried_again.wait()  # the loop outlived the failure
    finally:
        sweeping.cancel()

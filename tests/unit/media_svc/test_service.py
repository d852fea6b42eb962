"""MediaService's translation: an upload slot asked for in protos, answered as a target."""

from __future__ import annotations

import pytest
from photoshare.media.v1 import media_pb2, media_service_pb2

from common.errors import InvalidArgument
from media_svc.models import UploadState
from media_svc.service import MediaServicer
from tests.fakes import context_of
from tests.unit.media_svc.conftest import World


def slot_request(
    media_type: media_pb2.MediaType.ValueType, content_type: str
) -> media_service_pb2.CreateUploadRequest:
    return media_service_pb2.CreateUploadRequest(
        upload_id=5, author_id=7, type=media_type, content_type=content_type, size_bytes=64
    )


async def test_create_upload_opens_a_slot_of_the_asked_type(world: World) -> None:
    servicer = MediaServicer(world.uploads)
    response = await servicer.CreateUpload(
        slot_request(media_pb2.MEDIA_TYPE_VIDEO, "video/mp4"), context_of()
    )
    assert response.upload.url.startswith("http://cdn/uploads/5?token=")
    assert response.upload.method == "PUT"
    assert response.upload.expires_at.ToMilliseconds() == world.clock.now + 60_000
    upload = await world.store.get(5)
    assert upload is not None
    assert (upload.media_type, upload.author_id, upload.state) == ("VIDEO", 7, UploadState.OPEN)


async def test_an_unset_media_type_is_refused(world: World) -> None:
    servicer = MediaServicer(world.uploads)
    with pytest.raises(InvalidArgument) as refused:
        await servicer.CreateUpload(
            slot_request(media_pb2.MEDIA_TYPE_UNSPECIFIED, "image/jpeg"), context_of()
        )
    assert refused.value.field == "media.type"

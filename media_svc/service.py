"""MediaService RPCs: proto in, domain call, proto out."""

from __future__ import annotations

from typing import Any

import grpc
from photoshare.media.v1 import media_pb2, media_service_pb2, media_service_pb2_grpc

from media_svc.uploads import Uploads

Context = grpc.aio.ServicerContext[Any, Any]


class MediaServicer(media_service_pb2_grpc.MediaServiceServicer):
    def __init__(self, uploads: Uploads) -> None:
        self._uploads = uploads

    async def CreateUpload(
        self, request: media_service_pb2.CreateUploadRequest, context: Context
    ) -> media_service_pb2.CreateUploadResponse:
        media_type = media_pb2.MediaType.Name(request.type).removeprefix("MEDIA_TYPE_")
        if request.purpose == media_service_pb2.UPLOAD_PURPOSE_AVATAR:
            # An avatar is a photo; the domain checks its content type as one.
            media_type = "AVATAR" if media_type in ("PHOTO", "UNSPECIFIED") else media_type
        target = await self._uploads.open_slot(
            request.upload_id,
            request.author_id,
            media_type,
            request.content_type,
            request.size_bytes,
        )
        response = media_service_pb2.CreateUploadResponse()
        response.upload.url = target.url
        response.upload.method = target.method
        response.upload.expires_at.FromMilliseconds(target.expires_at_ms)
        return response

    async def CloseUpload(
        self, request: media_service_pb2.CloseUploadRequest, context: Context
    ) -> media_service_pb2.CloseUploadResponse:
        await self._uploads.close(request.upload_id)
        return media_service_pb2.CloseUploadResponse()

    async def EraseAuthorMedia(
        self, request: media_service_pb2.EraseAuthorMediaRequest, context: Context
    ) -> media_service_pb2.EraseAuthorMediaResponse:
        remaining = await self._uploads.erase_author(request.author_id, request.limit)
        return media_service_pb2.EraseAuthorMediaResponse(remaining=remaining)

"""post_svc's view of the media service and the graph service."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from photoshare.graph.v1 import graph_internal_service_pb2, graph_internal_service_pb2_grpc
from photoshare.graph.v1.user_summary_pb2 import UserSummary
from photoshare.media.v1 import media_pb2, media_service_pb2, media_service_pb2_grpc

from common.rpc_errors import answer
from post_svc.models import MediaSpec, UploadTarget


class MediaUploadsClient:
    """UploadSlots over gRPC."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_s: float) -> None:
        self._stub = media_service_pb2_grpc.MediaServiceStub(channel)
        self._timeout_s = timeout_s

    async def open_upload(self, post_id: int, author_id: int, spec: MediaSpec) -> UploadTarget:
        request = media_service_pb2.CreateUploadRequest(
            upload_id=post_id,
            author_id=author_id,
            type=media_pb2.MediaType.Value(f"MEDIA_TYPE_{spec.type}"),
            content_type=spec.content_type,
            size_bytes=spec.size_bytes,
        )
        call = self._stub.CreateUpload(request, timeout=self._timeout_s)
        upload = (await answer(call, service="media service")).upload
        return UploadTarget(upload.url, upload.method, upload.expires_at.ToMilliseconds())

    async def close_upload(self, post_id: int) -> None:
        request = media_service_pb2.CloseUploadRequest(upload_id=post_id)
        await answer(
            self._stub.CloseUpload(request, timeout=self._timeout_s), service="media service"
        )


class UserDirectoryClient:
    """UserDirectory over gRPC."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_s: float) -> None:
        self._stub = graph_internal_service_pb2_grpc.GraphInternalServiceStub(channel)
        self._timeout_s = timeout_s

    async def summaries(self, user_ids: Sequence[int]) -> dict[int, UserSummary]:
        request = graph_internal_service_pb2.BatchGetUserSummariesRequest(user_ids=user_ids)
        call = self._stub.BatchGetUserSummaries(request, timeout=self._timeout_s)
        response = await answer(call, service="graph service")
        return {user.id: user for user in response.users}

"""graph_svc's view of the media service, post_svc and feed_svc."""

from __future__ import annotations

import grpc
from photoshare.feed.v1 import feed_internal_service_pb2, feed_internal_service_pb2_grpc
from photoshare.media.v1 import media_pb2, media_service_pb2, media_service_pb2_grpc
from photoshare.post.v1 import post_internal_service_pb2, post_internal_service_pb2_grpc

from common.rpc_errors import answer
from graph_svc.models import UploadTarget


class AvatarUploadsClient:
    """AvatarUploads over gRPC."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_s: float) -> None:
        self._stub = media_service_pb2_grpc.MediaServiceStub(channel)
        self._timeout_s = timeout_s

    async def open_avatar_upload(
        self, upload_id: int, user_id: int, content_type: str, size_bytes: int
    ) -> UploadTarget:
        request = media_service_pb2.CreateUploadRequest(
            upload_id=upload_id,
            author_id=user_id,
            type=media_pb2.MEDIA_TYPE_PHOTO,
            content_type=content_type,
            size_bytes=size_bytes,
            purpose=media_service_pb2.UPLOAD_PURPOSE_AVATAR,
        )
        call = self._stub.CreateUpload(request, timeout=self._timeout_s)
        upload = (await answer(call, service="media service")).upload
        return UploadTarget(upload.url, upload.method, upload.expires_at.ToMilliseconds())


# An erasure's calls each delete up to a hundred things, off any request path: they get more
# time than a request's call, so that a loaded store slows them instead of failing them.
ERASURE_CALL_TIMEOUT_S = 60.0


class MediaEraserClient:
    """MediaEraser over gRPC."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = media_service_pb2_grpc.MediaServiceStub(channel)

    async def erase_media(self, author_id: int, limit: int) -> bool:
        request = media_service_pb2.EraseAuthorMediaRequest(author_id=author_id, limit=limit)
        call = self._stub.EraseAuthorMedia(request, timeout=ERASURE_CALL_TIMEOUT_S)
        return (await answer(call, service="media service")).remaining


class PostEraserClient:
    """PostEraser over gRPC."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_s: float) -> None:
        self._stub = post_internal_service_pb2_grpc.PostInternalServiceStub(channel)
        self._timeout_s = timeout_s  # ForgetAuthor's: it is in the erasure's request

    async def erase_posts(self, author_id: int, limit: int) -> bool:
        request = post_internal_service_pb2.EraseAuthorPostsRequest(
            author_id=author_id, limit=limit
        )
        call = self._stub.EraseAuthorPosts(request, timeout=ERASURE_CALL_TIMEOUT_S)
        return (await answer(call, service="post service")).remaining

    async def forget_author(self, user_id: int) -> None:
        request = post_internal_service_pb2.ForgetAuthorRequest(user_id=user_id)
        await answer(
            self._stub.ForgetAuthor(request, timeout=self._timeout_s), service="post service"
        )

    async def erase_engagement(self, user_id: int, limit: int) -> bool:
        request = post_internal_service_pb2.EraseUserEngagementRequest(user_id=user_id, limit=limit)
        call = self._stub.EraseUserEngagement(request, timeout=ERASURE_CALL_TIMEOUT_S)
        return (await answer(call, service="post service")).remaining


class FeedEraserClient:
    """FeedEraser over gRPC."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = feed_internal_service_pb2_grpc.FeedInternalServiceStub(channel)

    async def erase_feeds(self, user_id: int) -> None:
        request = feed_internal_service_pb2.EraseUserFeedsRequest(user_id=user_id)
        await answer(
            self._stub.EraseUserFeeds(request, timeout=ERASURE_CALL_TIMEOUT_S),
            service="feed service",
        )

"""PostService RPCs: proto in, domain call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from photoshare.media.v1 import media_pb2
from photoshare.post.v1 import post_service_pb2 as pb
from photoshare.post.v1 import post_service_pb2_grpc as pb_grpc

from common.metadata import caller_id
from post_svc.models import MediaSpec, Post
from post_svc.posts import Posts

Context = grpc.aio.ServicerContext[Any, Any]


def post_to_proto(post: Post) -> pb.Post:
    message = pb.Post(
        id=post.id,
        author_id=post.author_id,
        caption=post.caption,
        state=pb.PostState.Value(f"POST_STATE_{post.state.value}"),
        failure_reason=post.failure_reason,
        media=post.media,
    )
    message.created_at.FromMilliseconds(post.created_at_ms)
    if post.published_at_ms is not None:
        message.published_at.FromMilliseconds(post.published_at_ms)
    return message


def spec_from_proto(spec: pb.MediaSpec) -> MediaSpec:
    kind = media_pb2.MediaType.Name(spec.type).removeprefix("MEDIA_TYPE_")
    return MediaSpec(type=kind, content_type=spec.content_type, size_bytes=spec.size_bytes)


class PostServicer(pb_grpc.PostServiceServicer):
    def __init__(self, posts: Posts) -> None:
        self._posts = posts

    async def CreatePost(
        self, request: pb.CreatePostRequest, context: Context
    ) -> pb.CreatePostResponse:
        spec = spec_from_proto(request.media) if request.HasField("media") else None
        post, upload = await self._posts.create(caller_id(context), request.caption, spec)
        response = pb.CreatePostResponse(post=post_to_proto(post))
        response.upload.url = upload.url
        response.upload.method = upload.method
        response.upload.expires_at.FromMilliseconds(upload.expires_at_ms)
        return response

    async def GetPost(self, request: pb.GetPostRequest, context: Context) -> pb.GetPostResponse:
        return pb.GetPostResponse(post=post_to_proto(await self._posts.get(request.id)))

    async def ListUserPosts(
        self, request: pb.ListUserPostsRequest, context: Context
    ) -> pb.ListUserPostsResponse:
        page = await self._posts.user_posts(request.user_id, request.limit, request.cursor)
        return pb.ListUserPostsResponse(
            posts=[post_to_proto(p) for p in page.posts], next_cursor=page.next_cursor
        )

    async def BatchGetPosts(
        self, request: pb.BatchGetPostsRequest, context: Context
    ) -> pb.BatchGetPostsResponse:
        posts = await self._posts.batch_get(list(request.ids))
        return pb.BatchGetPostsResponse(posts=[post_to_proto(p) for p in posts])

    async def StreamRecentPosts(
        self, request: pb.StreamRecentPostsRequest, context: Context
    ) -> AsyncIterator[pb.StreamRecentPostsResponse]:
        before = None
        if request.HasField("before"):
            before = (request.before.published_at_ms, request.before.post_id)
        async for batch in self._posts.recent_by_authors(
            list(request.author_ids), before, request.limit
        ):
            yield pb.StreamRecentPostsResponse(posts=[post_to_proto(p) for p in batch])

"""PostService RPCs: proto in, domain call, proto out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from photoshare.graph.v1.user_summary_pb2 import UserSummary
from photoshare.media.v1 import media_pb2
from photoshare.post.v1 import post_internal_service_pb2 as ipb
from photoshare.post.v1 import post_internal_service_pb2_grpc as ipb_grpc
from photoshare.post.v1 import post_service_pb2 as pb
from photoshare.post.v1 import post_service_pb2_grpc as pb_grpc

from common.errors import NotFound
from common.metadata import caller_id, optional_caller_id
from post_svc.authors import Authors
from post_svc.deletion import PostDeletion
from post_svc.engagement import Engaged, Engagement
from post_svc.models import Comment, Like, MediaSpec, Post
from post_svc.posts import Posts

Context = grpc.aio.ServicerContext[Any, Any]


def post_to_proto(
    post: Post, engaged: Engaged | None = None, author: UserSummary | None = None
) -> pb.Post:
    message = pb.Post(
        id=post.id,
        author_id=post.author_id,
        caption=post.caption,
        state=pb.PostState.Value(f"POST_STATE_{post.state.value}"),
        failure_reason=post.failure_reason,
        media=post.media,
        author=author,
    )
    message.created_at.FromMilliseconds(post.created_at_ms)
    if post.published_at_ms is not None:
        message.published_at.FromMilliseconds(post.published_at_ms)
    if post.edited_at_ms is not None:
        message.edited_at.FromMilliseconds(post.edited_at_ms)
    if engaged is not None:
        message.like_count = engaged.stats.likes
        message.comment_count = engaged.stats.comments
        message.liked_by_viewer = engaged.liked_by_viewer
    return message


def comment_to_proto(comment: Comment, author: UserSummary | None) -> pb.Comment:
    message = pb.Comment(
        id=comment.id,
        post_id=comment.post_id,
        author_id=comment.author_id,
        text=comment.text,
        author=author,
    )
    message.created_at.FromMilliseconds(comment.created_at_ms)
    return message


def like_to_proto(like: Like, user: UserSummary | None) -> pb.Like:
    message = pb.Like(user_id=like.user_id, user=user)
    message.created_at.FromMilliseconds(like.liked_at_ms)
    return message


def spec_from_proto(spec: pb.MediaSpec) -> MediaSpec:
    kind = media_pb2.MediaType.Name(spec.type).removeprefix("MEDIA_TYPE_")
    return MediaSpec(type=kind, content_type=spec.content_type, size_bytes=spec.size_bytes)


class PostServicer(pb_grpc.PostServiceServicer, ipb_grpc.PostInternalServiceServicer):
    def __init__(
        self, posts: Posts, engagement: Engagement, authors: Authors, deletion: PostDeletion
    ) -> None:
        self._posts = posts
        self._engagement = engagement
        self._authors = authors
        self._deletion = deletion

    async def _views(self, posts: list[Post], context: Context) -> list[pb.Post]:
        """Posts as the caller sees them: with authors, counts and whether they liked each;
        one round trip per store for the whole page. A post whose author is being erased
        (no summary) is left out."""
        engaged, authors = await asyncio.gather(
            self._engagement.seen_by(posts, optional_caller_id(context)),
            self._authors.summaries([p.author_id for p in posts]),
        )
        return [
            post_to_proto(p, engaged.get(p.id), authors[p.author_id])
            for p in posts
            if p.author_id in authors
        ]

    async def CreatePost(
        self, request: pb.CreatePostRequest, context: Context
    ) -> pb.CreatePostResponse:
        spec = spec_from_proto(request.media) if request.HasField("media") else None
        post, upload = await self._posts.create(
            caller_id(context), request.caption, spec, request.request_id
        )
        response = pb.CreatePostResponse(post=post_to_proto(post))
        response.upload.url = upload.url
        response.upload.method = upload.method
        response.upload.expires_at.FromMilliseconds(upload.expires_at_ms)
        return response

    async def GetPost(self, request: pb.GetPostRequest, context: Context) -> pb.GetPostResponse:
        post = await self._posts.get(request.id, optional_caller_id(context))
        views = await self._views([post], context)
        if not views:  # its author's account is being erased
            raise NotFound(
                f"post {request.id} does not exist",
                reason="POST_NOT_FOUND",
                metadata={"postId": str(request.id)},
            )
        return pb.GetPostResponse(post=views[0])

    async def DeletePost(
        self, request: pb.DeletePostRequest, context: Context
    ) -> pb.DeletePostResponse:
        await self._deletion.delete(request.id, caller_id(context))
        return pb.DeletePostResponse()

    async def UpdatePost(
        self, request: pb.UpdatePostRequest, context: Context
    ) -> pb.UpdatePostResponse:
        paths = list(request.update_mask.paths) or ["caption"]  # the one editable field
        post = await self._posts.edit(
            request.post.id, caller_id(context), request.post.caption, paths
        )
        (view,) = await self._views([post], context)  # the caller's own: never erased
        return pb.UpdatePostResponse(post=view)

    async def ListUserPosts(
        self, request: pb.ListUserPostsRequest, context: Context
    ) -> pb.ListUserPostsResponse:
        page = await self._posts.user_posts(request.user_id, request.limit, request.cursor)
        return pb.ListUserPostsResponse(
            posts=await self._views(page.posts, context), next_cursor=page.next_cursor
        )

    async def EraseAuthorPosts(
        self, request: ipb.EraseAuthorPostsRequest, context: Context
    ) -> ipb.EraseAuthorPostsResponse:
        deleted, remaining = await self._deletion.erase_author_posts(
            request.author_id, request.limit
        )
        return ipb.EraseAuthorPostsResponse(deleted=deleted, remaining=remaining)

    async def EraseUserEngagement(
        self, request: ipb.EraseUserEngagementRequest, context: Context
    ) -> ipb.EraseUserEngagementResponse:
        remaining = await self._engagement.erase_user(request.user_id, request.limit)
        return ipb.EraseUserEngagementResponse(remaining=remaining)

    async def ForgetAuthor(
        self, request: ipb.ForgetAuthorRequest, context: Context
    ) -> ipb.ForgetAuthorResponse:
        await self._authors.forget(request.user_id)
        return ipb.ForgetAuthorResponse()

    async def BatchGetPosts(
        self, request: ipb.BatchGetPostsRequest, context: Context
    ) -> ipb.BatchGetPostsResponse:
        posts = await self._posts.batch_get(list(request.ids))
        return ipb.BatchGetPostsResponse(posts=[post_to_proto(p) for p in posts])

    async def StreamRecentPosts(
        self, request: ipb.StreamRecentPostsRequest, context: Context
    ) -> AsyncIterator[ipb.StreamRecentPostsResponse]:
        before = None
        if request.HasField("before"):
            before = (request.before.published_at_ms, request.before.post_id)
        async for batch in self._posts.recent_by_authors(
            list(request.author_ids), before, request.limit
        ):
            yield ipb.StreamRecentPostsResponse(posts=[post_to_proto(p) for p in batch])

    async def HydratePosts(
        self, request: ipb.HydratePostsRequest, context: Context
    ) -> ipb.HydratePostsResponse:
        ids = list(request.post_ids)
        seen, authors = await asyncio.gather(
            self._engagement.seen(ids, optional_caller_id(context)),
            self._authors.summaries(list(request.author_ids)),
        )
        return ipb.HydratePostsResponse(
            engagements=[
                ipb.PostEngagement(
                    post_id=i,
                    like_count=seen[i].stats.likes,
                    comment_count=seen[i].stats.comments,
                    liked_by_viewer=seen[i].liked_by_viewer,
                    deleted=seen[i].stats.deleted,
                )
                for i in ids
            ],
            authors=authors.values(),
        )

    async def LikePost(self, request: pb.LikePostRequest, context: Context) -> pb.LikePostResponse:
        seen = await self._engagement.like(request.post_id, caller_id(context))
        return pb.LikePostResponse(like_count=seen.stats.likes, liked_by_viewer=True)

    async def UnlikePost(
        self, request: pb.UnlikePostRequest, context: Context
    ) -> pb.UnlikePostResponse:
        seen = await self._engagement.unlike(request.post_id, caller_id(context))
        return pb.UnlikePostResponse(like_count=seen.stats.likes, liked_by_viewer=False)

    async def ListLikes(
        self, request: pb.ListLikesRequest, context: Context
    ) -> pb.ListLikesResponse:
        page = await self._engagement.likes_page(
            request.post_id, request.page_size, request.page_token
        )
        users = await self._authors.summaries([like.user_id for like in page.likes])
        return pb.ListLikesResponse(
            # Likes of users being erased are left out until the erasure removes them.
            likes=[
                like_to_proto(like, users[like.user_id])
                for like in page.likes
                if like.user_id in users
            ],
            next_page_token=page.next_page_token,
        )

    async def CreateComment(
        self, request: pb.CreateCommentRequest, context: Context
    ) -> pb.CreateCommentResponse:
        comment = await self._engagement.comment(request.post_id, caller_id(context), request.text)
        authors = await self._authors.summaries([comment.author_id])
        return pb.CreateCommentResponse(
            comment=comment_to_proto(comment, authors.get(comment.author_id))
        )

    async def ListComments(
        self, request: pb.ListCommentsRequest, context: Context
    ) -> pb.ListCommentsResponse:
        page = await self._engagement.comments_page(
            request.post_id, request.page_size, request.page_token
        )
        authors = await self._authors.summaries([c.author_id for c in page.comments])
        return pb.ListCommentsResponse(
            comments=[
                comment_to_proto(c, authors[c.author_id])
                for c in page.comments
                if c.author_id in authors
            ],
            next_page_token=page.next_page_token,
        )

    async def DeleteComment(
        self, request: pb.DeleteCommentRequest, context: Context
    ) -> pb.DeleteCommentResponse:
        await self._engagement.delete_comment(
            request.post_id, request.comment_id, caller_id(context)
        )
        return pb.DeleteCommentResponse()

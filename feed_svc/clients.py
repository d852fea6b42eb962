"""feed_svc's view of graph_svc and post_svc over gRPC, with deadlines on every call."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

import grpc
from photoshare.graph.v1 import graph_internal_service_pb2 as graph_ipb
from photoshare.graph.v1 import graph_internal_service_pb2_grpc as graph_igrpc
from photoshare.graph.v1 import graph_service_pb2 as graph_pb
from photoshare.graph.v1 import graph_service_pb2_grpc as graph_grpc
from photoshare.graph.v1.user_summary_pb2 import UserSummary
from photoshare.post.v1 import post_internal_service_pb2 as post_ipb
from photoshare.post.v1 import post_internal_service_pb2_grpc as post_igrpc
from photoshare.post.v1 import post_service_pb2 as post_pb

from common.errors import NotFound
from common.metadata import as_caller
from common.rpc_errors import answer, from_rpc_error
from feed_svc.models import (
    Candidate,
    Engagement,
    FeedEntry,
    FeedKey,
    Followee,
    Hydration,
    ReaderFollows,
)

BATCH_GET_MAX = 500


class GraphClient:
    """FollowGraph over gRPC."""

    def __init__(
        self, channel: grpc.aio.Channel, *, timeout_s: float, stream_timeout_s: float
    ) -> None:
        self._stub = graph_grpc.GraphServiceStub(channel)
        self._internal = graph_igrpc.GraphInternalServiceStub(channel)
        self._timeout_s = timeout_s
        self._stream_timeout_s = stream_timeout_s

    async def follower_count(self, user_id: int) -> int:
        try:
            response = await self._stub.GetUser(
                graph_pb.GetUserRequest(id=user_id), timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            error = from_rpc_error(exc, service="graph service")
            if isinstance(error, NotFound):
                return 0
            raise error from exc
        return response.user.follower_count

    async def follower_id_chunks(
        self, user_id: int, chunk_size: int
    ) -> AsyncGenerator[list[int], None]:
        call = self._internal.StreamFollowerIds(
            graph_ipb.StreamFollowerIdsRequest(user_id=user_id, chunk_size=chunk_size),
            timeout=self._stream_timeout_s,
        )
        try:
            async for response in call:
                yield list(response.follower_ids)
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, service="graph service") from exc
        finally:
            call.cancel()

    async def followees(self, user_id: int) -> list[Followee]:
        call = self._internal.StreamFollowing(
            graph_ipb.StreamFollowingRequest(user_id=user_id, chunk_size=1000),
            timeout=self._stream_timeout_s,
        )
        try:
            return [
                Followee(f.user_id, f.follower_count)
                async for response in call
                for f in response.followees
            ]
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, service="graph service") from exc

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> set[int]:
        if not candidate_ids:
            return set()
        return (await self.reader_follows(user_id, candidate_ids, min_follower_count=0)).followed

    async def reader_follows(
        self, user_id: int, candidate_ids: Sequence[int], min_follower_count: int
    ) -> ReaderFollows:
        """A `min_follower_count` of 0 asks for no celebrities."""
        call = self._internal.FilterFollowed(
            graph_ipb.FilterFollowedRequest(
                user_id=user_id,
                candidate_ids=candidate_ids,
                celebrity_min_follower_count=min_follower_count,
            ),
            timeout=self._timeout_s,
        )
        response = await answer(call, service="graph service")
        return ReaderFollows(set(response.followed_ids), list(response.celebrity_ids))

    async def summaries(self, user_ids: Sequence[int]) -> dict[int, UserSummary]:
        if not user_ids:
            return {}
        call = self._internal.BatchGetUserSummaries(
            graph_ipb.BatchGetUserSummariesRequest(user_ids=user_ids), timeout=self._timeout_s
        )
        response = await answer(call, service="graph service")
        return {user.id: user for user in response.users}


class PostClient:
    """PostSource over gRPC."""

    def __init__(
        self, channel: grpc.aio.Channel, *, timeout_s: float, stream_timeout_s: float
    ) -> None:
        self._stub = post_igrpc.PostInternalServiceStub(channel)
        self._timeout_s = timeout_s
        self._stream_timeout_s = stream_timeout_s

    async def get_many(self, post_ids: Sequence[int]) -> dict[int, post_pb.Post]:
        found: dict[int, post_pb.Post] = {}
        for start in range(0, len(post_ids), BATCH_GET_MAX):
            request = post_ipb.BatchGetPostsRequest(ids=post_ids[start : start + BATCH_GET_MAX])
            call = self._stub.BatchGetPosts(request, timeout=self._timeout_s)
            response = await answer(call, service="post service")
            found.update(
                (p.id, p) for p in response.posts if p.state == post_pb.POST_STATE_PUBLISHED
            )
        return found

    async def hydrate(
        self, post_ids: Sequence[int], author_ids: Sequence[int], reader_id: int
    ) -> Hydration:
        if not post_ids and not author_ids:
            return Hydration({}, {})
        try:
            response = await self._stub.HydratePosts(
                post_ipb.HydratePostsRequest(post_ids=post_ids, author_ids=author_ids),
                metadata=as_caller(reader_id),
                timeout=self._timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, service="post service") from exc
        return Hydration(
            {
                e.post_id: Engagement(e.like_count, e.comment_count, e.liked_by_viewer, e.deleted)
                for e in response.engagements
            },
            {author.id: author for author in response.authors},
        )

    async def recent(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> AsyncGenerator[list[Candidate], None]:
        if not author_ids:
            return
        request = post_ipb.StreamRecentPostsRequest(author_ids=author_ids, limit=limit)
        if before is not None:
            request.before.published_at_ms, request.before.post_id = before
        call = self._stub.StreamRecentPosts(request, timeout=self._stream_timeout_s)
        try:
            async for response in call:
                yield [Candidate(_entry(p), p) for p in response.posts]
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, service="post service") from exc
        finally:
            call.cancel()


def _entry(post: post_pb.Post) -> FeedEntry:
    return FeedEntry(post.published_at.ToMilliseconds(), post.id, post.author_id)

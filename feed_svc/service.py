"""FeedService RPCs: proto in, domain call, proto out."""

from __future__ import annotations

from typing import Any

import grpc
from photoshare.feed.v1 import feed_service_pb2 as pb
from photoshare.feed.v1 import feed_service_pb2_grpc as pb_grpc

from common.metadata import caller_id
from feed_svc.feed import HomeFeed

Context = grpc.aio.ServicerContext[Any, Any]


class FeedServicer(pb_grpc.FeedServiceServicer):
    def __init__(self, feed: HomeFeed) -> None:
        self._feed = feed

    async def GetHomeFeed(
        self, request: pb.GetHomeFeedRequest, context: Context
    ) -> pb.GetHomeFeedResponse:
        page = await self._feed.read(caller_id(context), request.limit, request.cursor)
        return pb.GetHomeFeedResponse(posts=page.posts, next_cursor=page.next_cursor)

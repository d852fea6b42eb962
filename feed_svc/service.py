"""FeedService RPCs: proto in, domain call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from functools import partial
from typing import Any

import grpc
from photoshare.feed.v1 import feed_internal_service_pb2 as ipb
from photoshare.feed.v1 import feed_internal_service_pb2_grpc as ipb_grpc
from photoshare.feed.v1 import feed_service_pb2 as pb
from photoshare.feed.v1 import feed_service_pb2_grpc as pb_grpc

from common.metadata import caller_id
from feed_svc.feed import HomeFeed
from feed_svc.live_feed import LiveHomeFeed, LiveMessage
from feed_svc.live_notifications import LiveNotifications, NotificationMessage
from feed_svc.models import Notification
from feed_svc.notifications import Notifications

Context = grpc.aio.ServicerContext[Any, Any]


def notification_to_proto(notification: Notification) -> pb.Notification:
    group = notification.group
    message = pb.Notification(
        id=str(group.position),
        kind=pb.NotificationKind.Value(f"NOTIFICATION_KIND_{group.kind.value}"),
        actors=notification.actors,
        actor_count=group.actor_count,
        post_id=group.post_id,
        comment_id=group.comment_id,
        comment_text=group.comment_text,
        read=notification.read,
    )
    if notification.post is not None:
        message.post_media.CopyFrom(notification.post.media)
    message.update_time.FromMilliseconds(group.updated_at_ms)
    return message


def live_message_to_proto(message: LiveMessage) -> pb.StreamHomeFeedResponse:
    if message.post is not None:
        return pb.StreamHomeFeedResponse(id=message.event_id, post=message.post)
    if message.removed_post_id:
        return pb.StreamHomeFeedResponse(removed_post_id=message.removed_post_id)
    if message.hidden_author_id:
        return pb.StreamHomeFeedResponse(hidden_author_id=message.hidden_author_id)
    return pb.StreamHomeFeedResponse(reset=message.reset)


def notification_message_to_proto(message: NotificationMessage) -> pb.StreamNotificationsResponse:
    reply = pb.StreamNotificationsResponse(id=message.event_id, unread_count=message.unread_count)
    if message.notification is not None:
        reply.notification.CopyFrom(notification_to_proto(message.notification))
    else:
        reply.reset = message.reset
    return reply


class FeedServicer(pb_grpc.FeedServiceServicer, ipb_grpc.FeedInternalServiceServicer):
    def __init__(
        self,
        feed: HomeFeed,
        live: LiveHomeFeed,
        notifications: Notifications,
        live_notifications: LiveNotifications,
    ) -> None:
        self._feed = feed
        self._live = live
        self._notifications = notifications
        self._live_notifications = live_notifications

    async def GetHomeFeed(
        self, request: pb.GetHomeFeedRequest, context: Context
    ) -> pb.GetHomeFeedResponse:
        page = await self._feed.read(caller_id(context), request.limit, request.cursor)
        return pb.GetHomeFeedResponse(posts=page.posts, next_cursor=page.next_cursor)

    async def StreamHomeFeed(
        self, request: pb.StreamHomeFeedRequest, context: Context
    ) -> AsyncIterator[pb.StreamHomeFeedResponse]:
        # Headers go once the stream is registered: a client that waits for them misses
        # nothing published after.
        opened = partial(context.send_initial_metadata, ())
        async with aclosing(
            self._live.stream(caller_id(context), request.after, opened)
        ) as messages:
            async for message in messages:
                yield live_message_to_proto(message)

    async def ListNotifications(
        self, request: pb.ListNotificationsRequest, context: Context
    ) -> pb.ListNotificationsResponse:
        page = await self._notifications.page(
            caller_id(context), request.page_size, request.page_token
        )
        return pb.ListNotificationsResponse(
            notifications=[notification_to_proto(n) for n in page.notifications],
            unread_count=page.unread_count,
            next_page_token=page.next_page_token,
        )

    async def EraseUserFeeds(
        self, request: ipb.EraseUserFeedsRequest, context: Context
    ) -> ipb.EraseUserFeedsResponse:
        await self._feed.erase_reader(request.user_id)
        await self._notifications.erase_user(request.user_id)
        return ipb.EraseUserFeedsResponse()

    async def StreamNotifications(
        self, request: pb.StreamNotificationsRequest, context: Context
    ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        opened = partial(context.send_initial_metadata, ())
        stream = self._live_notifications.stream(caller_id(context), request.after, opened)
        async with aclosing(stream) as messages:
            async for message in messages:
                yield notification_message_to_proto(message)

    async def MarkNotificationsRead(
        self, request: pb.MarkNotificationsReadRequest, context: Context
    ) -> pb.MarkNotificationsReadResponse:
        unread = await self._notifications.mark_read(caller_id(context), request.up_to)
        return pb.MarkNotificationsReadResponse(unread_count=unread)

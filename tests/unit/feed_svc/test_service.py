"""FeedService's translation: the caller's page of posts, and the cursor, as protos
(notifications: test_notifications.py)."""

from __future__ import annotations

from typing import cast

import pytest
from photoshare.feed.v1 import feed_service_pb2 as pb

from common.errors import Unauthenticated
from feed_svc.live_feed import LiveHomeFeed
from feed_svc.live_notifications import LiveNotifications
from feed_svc.notifications import Notifications
from feed_svc.service import FeedServicer
from tests.fakes import context_of
from tests.unit.feed_svc.test_feed import READER, World


async def test_the_home_feed_is_the_callers_and_pages_with_its_cursor() -> None:
    world = World()
    world.graph.follow(READER, 2)
    posted = [await world.post(2) for _ in range(3)]
    servicer = FeedServicer(
        world.feed,
        cast(LiveHomeFeed, None),
        cast(Notifications, None),
        cast(LiveNotifications, None),
    )
    first = await servicer.GetHomeFeed(pb.GetHomeFeedRequest(limit=2), context_of(READER))
    assert [p.id for p in first.posts] == posted[:0:-1]
    assert first.next_cursor
    rest = await servicer.GetHomeFeed(
        pb.GetHomeFeedRequest(limit=2, cursor=first.next_cursor), context_of(READER)
    )
    assert ([p.id for p in rest.posts], rest.next_cursor) == ([posted[0]], "")
    with pytest.raises(Unauthenticated):
        await servicer.GetHomeFeed(pb.GetHomeFeedRequest(limit=2), context_of())

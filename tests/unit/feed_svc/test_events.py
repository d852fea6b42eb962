"""feed_svc's event handlers: each consumed event reaches the fan-out or the cache, each tailed
one the open live streams."""

from __future__ import annotations

import asyncio

from photoshare.events.v1 import events_pb2

from common.events.base import TOPIC_MEDIA
from common.events.codec import publish_event
from common.events.memory import InMemoryEventLog
from feed_svc.caching import CachedPosts
from feed_svc.events import FeedEventHandler, LiveEventHandler
from feed_svc.models import FeedEntry
from feed_svc.storage.memory_cache import InMemoryPostCache
from feed_svc.streams import LiveKind, StreamHub
from tests.unit.feed_svc.test_feed import World

AUTHOR, FAN = 2, 10


class Setup:
    def __init__(self) -> None:
        self.world = World()
        self.cache = InMemoryPostCache()
        self.log = InMemoryEventLog()
        self.handler = FeedEventHandler(
            self.world.fanout, CachedPosts(self.world.posts, self.cache)
        )

    async def deliver(self, event: events_pb2.Event) -> int:
        await publish_event(self.log, event)
        return await self.log.drain(self.handler.group, self.handler.topics, self.handler)

    async def timeline(self, owner: int) -> list[int]:
        page = await self.world.store.page(owner, None, 50)
        assert page is not None
        return [e.post_id for e in page.entries]


def post_published(post_id: int, author_id: int, at_ms: int) -> events_pb2.Event:
    event = events_pb2.Event(
        post_published=events_pb2.PostPublished(post_id=post_id, author_id=author_id)
    )
    event.post_published.published_at.FromMilliseconds(at_ms)
    return event


def follow_changed(following: bool) -> events_pb2.Event:
    change = events_pb2.FollowChanged(follower_id=FAN, followed_id=AUTHOR, following=following)
    return events_pb2.Event(follow_changed=change)


async def test_post_published_is_fanned_out_to_followers_with_its_publish_time() -> None:
    setup = Setup()
    setup.world.graph.follow(FAN, AUTHOR)
    await setup.world.feed.ensure_timeline(FAN)
    entry = setup.world.posts.add_published(AUTHOR, 5_000)
    assert await setup.deliver(post_published(entry.post_id, AUTHOR, 5_000)) == 1
    page = await setup.world.store.page(FAN, None, 10)
    assert page is not None
    assert page.entries == [entry]


async def test_post_updated_refreshes_the_cached_copy() -> None:
    setup = Setup()
    entry = setup.world.posts.add_published(AUTHOR, 5_000)
    cached = CachedPosts(setup.world.posts, setup.cache)
    await cached.get_many([entry.post_id])  # the old copy is cached
    setup.world.posts.posts[entry.post_id].caption = "with AVIF renditions"
    updated = events_pb2.PostUpdated(post_id=entry.post_id, author_id=AUTHOR)
    await setup.deliver(events_pb2.Event(post_updated=updated))
    assert (await cached.get_many([entry.post_id]))[entry.post_id].caption == (
        "with AVIF renditions"
    )


async def test_follow_backfills_and_unfollow_removes_the_followees_posts() -> None:
    setup = Setup()
    await setup.world.feed.ensure_timeline(FAN)
    entry = setup.world.posts.add_published(AUTHOR, 5_000)
    setup.world.graph.follow(FAN, AUTHOR)
    await setup.deliver(follow_changed(True))
    assert await setup.timeline(FAN) == [entry.post_id]
    setup.world.graph.unfollow(FAN, AUTHOR)
    await setup.deliver(follow_changed(False))
    assert await setup.timeline(FAN) == []


async def test_consumes_posts_and_follows_only_and_redelivery_is_harmless() -> None:
    setup = Setup()
    setup.world.graph.follow(FAN, AUTHOR)
    await setup.world.feed.ensure_timeline(FAN)
    entry = setup.world.posts.add_published(AUTHOR, 5_000)
    await setup.log.publish(TOPIC_MEDIA, "1", b"not for the feed")
    event = post_published(entry.post_id, AUTHOR, 5_000)
    assert await setup.deliver(event) == 1  # the media event was not delivered
    await setup.handler(setup.log.published()[-1])  # at least once: the same event again
    assert await setup.timeline(FAN) == [entry.post_id]
    assert await setup.log.dead_letters(setup.handler.group) == []


async def test_the_tail_hands_posts_and_follows_to_the_open_streams() -> None:
    hub = StreamHub()
    log = InMemoryEventLog()
    handler = LiveEventHandler(hub)
    stream = hub.open(FAN, following=[])

    async def tailed(*events: events_pb2.Event) -> None:
        for event in events:
            await publish_event(log, event)
        await log.drain("live", handler.topics, handler)

    await tailed(post_published(1, AUTHOR, 1_000))  # not followed yet: not for this stream
    await tailed(follow_changed(True), post_published(2, AUTHOR, 2_000))
    deleted = events_pb2.Event(post_deleted=events_pb2.PostDeleted(post_id=2, author_id=AUTHOR))
    deleted.post_deleted.published_at.FromMilliseconds(2_000)
    await tailed(deleted, follow_changed(False))
    got = []
    while (event := await asyncio.wait_for(stream.next(), timeout=1)) is not None:
        got.append((event.kind, event.entry))
        if event.kind is LiveKind.HIDDEN:
            break
    assert got == [
        (LiveKind.POST, FeedEntry(2_000, 2, AUTHOR)),
        (LiveKind.REMOVED, FeedEntry(2_000, 2, AUTHOR)),
        (LiveKind.HIDDEN, FeedEntry(0, 0, AUTHOR)),
    ]

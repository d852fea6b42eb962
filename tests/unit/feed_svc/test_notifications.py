"""Notifications: events in through the real handler, pages out through the servicer, on the
embedded store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from photoshare.events.v1 import events_pb2
from photoshare.feed.v1 import feed_internal_service_pb2 as ipb
from photoshare.feed.v1 import feed_service_pb2 as pb
from photoshare.media.v1 import media_pb2
from photoshare.post.v1 import post_service_pb2 as post_pb

from common.errors import InvalidArgument
from common.events.codec import publish_event
from common.events.memory import InMemoryEventLog
from common.ids import FixedWorkerId, IdGenerator
from common.signing import Signer
from feed_svc.events import (
    LiveEventHandler,
    NotificationEventHandler,
    NotificationEventPublisher,
)
from feed_svc.live import StreamPositions
from feed_svc.live_feed import LiveHomeFeed
from feed_svc.live_notifications import LiveNotifications
from feed_svc.notifications import Notifications
from feed_svc.service import FeedServicer
from feed_svc.storage.base import NotificationStore
from feed_svc.storage.sqlite_notifications import SqliteNotificationStore
from tests.fakes import FakeGraph, FakePosts, context_of
from tests.unit.feed_svc.test_feed import World
from tests.unit.feed_svc.test_live_feed import WatchedHub

ADA, POST = 1, 500


class CrashingStore:
    """The embedded store, but the next `add_actor` fails as if the process died there."""

    def __init__(self, store: NotificationStore) -> None:
        self._store = store
        self.crash_next_add_actor = False

    @property
    def inner(self) -> NotificationStore:
        return self._store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def add_actor(self, recipient_id: int, key: str, actor_id: int) -> None:
        if self.crash_next_add_actor:
            self.crash_next_add_actor = False
            raise ConnectionError("killed between two writes")
        await self._store.add_actor(recipient_id, key, actor_id)


class Mesh:
    def __init__(self, store: CrashingStore) -> None:
        self.store = store
        self.log = InMemoryEventLog()
        self.posts = FakePosts()
        notifications = Notifications(
            store,  # type: ignore[arg-type]
            FakeGraph(),
            self.posts,
            IdGenerator(FixedWorkerId(4)),
            Signer(b"k", purpose="notifications"),
            events=NotificationEventPublisher(self.log),
        )
        self.handler = NotificationEventHandler(notifications)
        # The live streams, fed the way every process's tail feeds them.
        self.hub = WatchedHub()
        self.live_handler = LiveEventHandler(self.hub)
        live = LiveNotifications(
            notifications, self.hub, StreamPositions(Signer(b"k", purpose="stream"))
        )
        self.servicer = FeedServicer(World().feed, cast(LiveHomeFeed, None), notifications, live)

    async def send(self, *events: events_pb2.Event) -> None:
        for event in events:
            await publish_event(self.log, event)
        await self.log.drain(self.handler.group, self.handler.topics, self.handler)
        await self.log.drain("live", self.live_handler.topics, self.live_handler)

    def stream(self, user_id: int = ADA, after: str = "") -> AsyncIterator[Streamed]:
        request = pb.StreamNotificationsRequest(after=after)
        return self.servicer.StreamNotifications(request, context_of(user_id))

    async def page(self, user_id: int = ADA, size: int = 20, token: str = "") -> Page:
        request = pb.ListNotificationsRequest(page_size=size, page_token=token)
        return await self.servicer.ListNotifications(request, context_of(user_id))

    async def mark_read(self, up_to: str, user_id: int = ADA) -> int:
        request = pb.MarkNotificationsReadRequest(up_to=up_to)
        reply = await self.servicer.MarkNotificationsRead(request, context_of(user_id))
        return reply.unread_count


Page = pb.ListNotificationsResponse
Streamed = pb.StreamNotificationsResponse


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    store = SqliteNotificationStore(tmp_path / "notifications.db")
    await store.open()
    yield Mesh(CrashingStore(store))
    await store.close()


def like(user: int, post: int = POST, author: int = ADA, at_ms: int = 1) -> events_pb2.Event:
    created = events_pb2.LikeCreated(post_id=post, post_author_id=author, user_id=user)
    created.liked_at.FromMilliseconds(at_ms)
    return events_pb2.Event(event_id=f"like:{post}:{user}:{at_ms}", like_created=created)


def unlike(user: int, post: int = POST, author: int = ADA, at_ms: int = 1) -> events_pb2.Event:
    removed = events_pb2.LikeRemoved(post_id=post, post_author_id=author, user_id=user)
    removed.liked_at.FromMilliseconds(at_ms)
    return events_pb2.Event(event_id=f"unlike:{post}:{user}:{at_ms}", like_removed=removed)


def follow(follower: int, followed: int = ADA, following: bool = True) -> events_pb2.Event:
    change = events_pb2.FollowChanged(
        follower_id=follower, followed_id=followed, following=following
    )
    return events_pb2.Event(event_id=f"follow:{follower}:{following}", follow_changed=change)


def comment(user: int, comment_id: int, text: str = "nice") -> events_pb2.Event:
    created = events_pb2.CommentCreated(
        comment_id=comment_id, post_id=POST, post_author_id=ADA, author_id=user, text=text
    )
    return events_pb2.Event(event_id=f"comment:{comment_id}", comment_created=created)


def uncomment(user: int, comment_id: int) -> events_pb2.Event:
    deleted = events_pb2.CommentDeleted(
        comment_id=comment_id, post_id=POST, post_author_id=ADA, author_id=user
    )
    return events_pb2.Event(event_id=f"uncomment:{comment_id}", comment_deleted=deleted)


async def test_many_likes_of_one_post_are_one_growing_entry_with_the_latest_actors(
    mesh: Mesh,
) -> None:
    mesh.posts.posts[POST] = post_pb.Post(id=POST, media=media_pb2.Media(width=4, height=3))
    await mesh.send(like(2), like(3), like(ADA), like(4), like(5), like(3))
    page = await mesh.page()
    [entry] = page.notifications
    assert entry.kind == pb.NOTIFICATION_KIND_LIKE
    assert (entry.post_id, entry.actor_count, entry.read) == (POST, 4, False)
    assert entry.post_media.width == 4  # the thumbnail comes with it
    assert [a.id for a in entry.actors] == [5, 4, 3]  # the latest, at most 3
    assert entry.actors[0].username == "user5"
    assert page.unread_count == 1
    await mesh.send(like(6, post=POST + 1))
    newest = (await mesh.page()).notifications
    assert [n.post_id for n in newest] == [POST + 1, POST]
    assert not newest[0].HasField("post_media")  # a post not published (any more)
    await mesh.send(like(7))  # another like moves the post's entry back to the top
    assert [n.post_id for n in (await mesh.page()).notifications] == [POST, POST + 1]


async def test_a_like_taken_back_before_it_is_read_vanishes_and_after_it_stays(
    mesh: Mesh,
) -> None:
    await mesh.send(like(2), unlike(2))
    assert (await mesh.page()).notifications == []
    await mesh.send(like(2, at_ms=2), like(3, at_ms=2), unlike(3, at_ms=2))
    [entry] = (await mesh.page()).notifications
    assert (entry.actor_count, [a.id for a in entry.actors]) == (1, [2])
    assert await mesh.mark_read(entry.id) == 0
    await mesh.send(unlike(2, at_ms=2), like(2, at_ms=3))  # read: it stays, and no repeat
    [entry] = (await mesh.page()).notifications
    assert (entry.actor_count, entry.read) == (1, True)


async def test_follows_and_comments_notify_and_are_taken_back_too(mesh: Mesh) -> None:
    await mesh.send(follow(2), comment(3, 900, "x" * 500), follow(4), follow(4, following=False))
    kinds = [(n.kind, [a.id for a in n.actors]) for n in (await mesh.page()).notifications]
    assert kinds == [
        (pb.NOTIFICATION_KIND_COMMENT, [3]),
        (pb.NOTIFICATION_KIND_FOLLOW, [2]),
    ]
    said = (await mesh.page()).notifications[0]
    assert (said.comment_id, said.post_id, len(said.comment_text)) == (900, POST, 100)
    await mesh.send(uncomment(3, 900), follow(ADA, followed=ADA), comment(ADA, 901))
    assert [n.kind for n in (await mesh.page()).notifications] == [pb.NOTIFICATION_KIND_FOLLOW]


async def test_a_redelivered_or_crashed_event_notifies_exactly_once(mesh: Mesh) -> None:
    mesh.store.crash_next_add_actor = True  # the entry is written, its actor is not
    await mesh.send(like(2))
    await mesh.send(like(2))  # and the like is sent again by a retried request
    [entry] = (await mesh.page()).notifications
    assert entry.actor_count == 1
    await mesh.send(like(3))
    mesh.store.crash_next_add_actor = True
    await mesh.send(follow(4))
    assert [n.actor_count for n in (await mesh.page()).notifications] == [1, 2]
    assert await mesh.log.dead_letters(mesh.handler.group) == []


async def test_pages_unread_counts_and_marking_read(mesh: Mesh) -> None:
    await mesh.send(*(follow(user) for user in range(2, 9)))
    first = await mesh.page(size=3)
    assert ([n.actors[0].id for n in first.notifications], first.unread_count) == ([8, 7, 6], 7)
    second = await mesh.page(size=3, token=first.next_page_token)
    last = await mesh.page(size=3, token=second.next_page_token)
    rest = [*second.notifications, *last.notifications]
    assert [n.actors[0].id for n in rest] == [5, 4, 3, 2]
    assert not last.HasField("next_page_token")
    assert await mesh.mark_read(second.notifications[0].id) == 3
    assert await mesh.mark_read(last.notifications[0].id) == 3  # the mark never goes back
    reads = [n.read for n in (await mesh.page()).notifications]
    assert reads == [False, False, False, True, True, True, True]
    with pytest.raises(InvalidArgument):
        await mesh.page(user_id=2, token=first.next_page_token)  # another user's token
    for bad in ("", "abc", "-5", "9" * 30):
        with pytest.raises(InvalidArgument):
            await mesh.mark_read(bad)


async def test_notifications_about_a_deleted_post_are_left_out_at_once(mesh: Mesh) -> None:
    await mesh.send(like(2), like(3, post=POST + 1), follow(4))
    mesh.posts.deleted.add(POST)  # deleted: its event has not been handled yet
    page = await mesh.page()
    assert [(n.kind, n.post_id) for n in page.notifications] == [
        (pb.NOTIFICATION_KIND_FOLLOW, 0),
        (pb.NOTIFICATION_KIND_LIKE, POST + 1),
    ]


def post_deleted(post: int = POST, author: int = ADA) -> events_pb2.Event:
    deleted = events_pb2.PostDeleted(post_id=post, author_id=author)
    return events_pb2.Event(event_id=f"deleted:{post}", post_deleted=deleted)


async def test_a_deleted_posts_entries_go_and_late_events_about_it_notify_nobody(
    mesh: Mesh,
) -> None:
    await mesh.send(like(2), comment(3, comment_id=77), like(4, post=POST + 1), follow(5))
    mesh.posts.deleted.add(POST)
    await mesh.send(post_deleted(), post_deleted())  # again: nothing more to do
    store: NotificationStore = mesh.store._store
    assert await store.groups_about_post(ADA, POST) == []
    await mesh.send(like(6), comment(7, comment_id=78))  # sent before, delivered after
    assert await store.groups_about_post(ADA, POST) == []
    mesh.posts.deleted.clear()  # what is left is not merely hidden: it is gone
    page = await mesh.page()
    assert [(n.kind, n.post_id) for n in page.notifications] == [
        (pb.NOTIFICATION_KIND_FOLLOW, 0),
        (pb.NOTIFICATION_KIND_LIKE, POST + 1),
    ]
    assert page.unread_count == 2


async def test_an_erased_user_leaves_every_entry_read_or_not_and_loses_their_own(
    mesh: Mesh,
) -> None:
    await mesh.send(like(2), like(3), follow(2), comment(2, 900))
    entries = (await mesh.page()).notifications
    await mesh.mark_read(entries[0].id)  # all of them read: a take-back would leave them
    await mesh.send(follow(ADA, followed=2))  # Ada's own notification, to user 2
    request = ipb.EraseUserFeedsRequest(user_id=2)
    for _ in range(2):  # again: nothing changes
        await mesh.servicer.EraseUserFeeds(request, context_of())
    [left] = (await mesh.page()).notifications
    assert (left.kind, [a.id for a in left.actors], left.actor_count) == (
        pb.NOTIFICATION_KIND_LIKE,
        [3],
        1,
    )
    assert (await mesh.page(user_id=2)).notifications == []
    assert await mesh.store.inner.groups_with_actor(2, 10) == []


async def next_within(stream: AsyncIterator[Streamed], timeout_s: float = 1.0) -> Streamed:
    return await asyncio.wait_for(anext(stream), timeout_s)


async def test_a_stream_gets_each_new_entry_once_and_resumes_from_its_id(mesh: Mesh) -> None:
    stream = mesh.stream()
    opening = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(mesh.hub.opened.wait(), 1)
    await mesh.send(follow(7))
    first = await asyncio.wait_for(opening, 1)
    assert first.notification.kind == pb.NOTIFICATION_KIND_FOLLOW
    assert (first.notification.actors[0].id, first.unread_count) == (7, 1)
    assert first.id
    await mesh.send(like(8), follow(7))  # the follow again: a redelivery, nothing new
    liked = await next_within(stream)
    assert (liked.notification.kind, liked.unread_count) == (pb.NOTIFICATION_KIND_LIKE, 2)
    await mesh.send(like(9))  # the same entry, moved to the top with another actor
    again = await next_within(stream)
    assert again.notification.actor_count == 2
    assert again.notification.id != liked.notification.id
    await stream.aclose()  # type: ignore[attr-defined]

    # Away: the entries written meanwhile come first on reconnect, oldest first, then live.
    await mesh.send(comment(10, comment_id=1), follow(11))
    resumed = mesh.stream(after=liked.id)
    missed = [await next_within(resumed) for _ in range(3)]
    assert [m.notification.kind for m in missed] == [
        pb.NOTIFICATION_KIND_LIKE,
        pb.NOTIFICATION_KIND_COMMENT,
        pb.NOTIFICATION_KIND_FOLLOW,
    ]
    assert missed[0].notification.id == again.notification.id
    await mesh.send(follow(12))
    assert (await next_within(resumed)).notification.actors[0].id == 12
    await resumed.aclose()  # type: ignore[attr-defined]


async def test_a_stream_opened_without_an_id_starts_now_and_refuses_a_bad_one(mesh: Mesh) -> None:
    await mesh.send(follow(7))  # before the stream: the list shows it, the stream does not
    stream = mesh.stream()
    opening = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(mesh.hub.opened.wait(), 1)
    await mesh.send(follow(8))
    assert (await asyncio.wait_for(opening, 1)).notification.actors[0].id == 8
    await stream.aclose()  # type: ignore[attr-defined]
    with pytest.raises(InvalidArgument, match="Last-Event-ID"):
        await anext(mesh.stream(after="garbage"))

"""graph_svc's edges: the post event handler, and GraphService's proto translation."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from photoshare.events.v1 import events_pb2
from photoshare.graph.v1 import graph_internal_service_pb2 as ipb
from photoshare.graph.v1 import graph_service_pb2 as pb
from photoshare.media.v1 import media_pb2

from common.errors import InvalidArgument, Unauthenticated, Unavailable
from common.events.base import TOPIC_FOLLOWS, TOPIC_MEDIA, TOPIC_POSTS, TOPIC_USERS
from common.events.codec import publish_event
from common.ids import FixedWorkerId, IdGenerator
from common.signing import Signer
from graph_svc.caching import CachedFollowing
from graph_svc.events import GraphEventHandler, GraphEventPublisher
from graph_svc.graph import Graph
from graph_svc.service import GraphServicer
from graph_svc.storage.memory_cache import InMemoryFollowingCache
from tests.fakes import context_of, decoded
from tests.unit.graph_svc.conftest import GraphWorld


async def test_published_posts_are_counted_once_and_nothing_else_is_consumed(
    world: GraphWorld,
) -> None:
    (ada,) = await world.users("ada")
    handler = GraphEventHandler(world.graph)
    published = events_pb2.Event(post_published=events_pb2.PostPublished(post_id=9, author_id=ada))
    updated = events_pb2.Event(post_updated=events_pb2.PostUpdated(post_id=9, author_id=ada))
    for event in (published, published, updated):  # a redelivery, then an update
        await publish_event(world.log, event)
    await world.log.publish(TOPIC_USERS, "1", b"not for graph_svc")
    assert handler.group == "graph"
    assert tuple(handler.topics) == (TOPIC_POSTS, TOPIC_MEDIA, TOPIC_FOLLOWS)
    assert await world.log.drain(handler.group, handler.topics, handler) == 3
    assert (await world.graph.get_user(ada)).post_count == 1
    assert await world.log.dead_letters(handler.group) == []


async def test_users_come_back_with_counts_and_creation_time(world: GraphWorld) -> None:
    servicer = GraphServicer(world.graph, world.sessions, world.erasures)
    created = await servicer.CreateUser(pb.CreateUserRequest(username="ada"), context_of())
    bob = await servicer.CreateUser(pb.CreateUserRequest(username="bob"), context_of())
    await servicer.Follow(pb.FollowRequest(followed_id=created.user.id), context_of(bob.user.id))
    got = await servicer.GetUser(pb.GetUserRequest(id=created.user.id), context_of(bob.user.id))
    assert (got.user.username, got.user.follower_count, got.user.following_count) == ("ada", 1, 0)
    assert got.user.created_at.ToMilliseconds() == 1_000
    token = await servicer.Authenticate(ipb.AuthenticateRequest(token=created.token), context_of())
    assert token.user_id == created.user.id
    followers = await servicer.ListFollowers(
        pb.ListFollowersRequest(user_id=created.user.id), context_of(bob.user.id)
    )
    assert ([u.username for u in followers.users], followers.next_page_token) == (["bob"], "")
    with pytest.raises(Unauthenticated):  # follow needs a caller
        await servicer.Follow(pb.FollowRequest(followed_id=created.user.id), context_of())


async def test_internal_streams_and_filters_answer_in_protos(world: GraphWorld) -> None:
    servicer = GraphServicer(world.graph, world.sessions, world.erasures)
    star, fan1, fan2 = await world.users("star", "fan1", "fan2")
    for fan in (fan1, fan2):
        await servicer.Follow(pb.FollowRequest(followed_id=star), context_of(fan))
    chunks = [
        list(r.follower_ids)
        async for r in servicer.StreamFollowerIds(
            ipb.StreamFollowerIdsRequest(user_id=star, chunk_size=1), context_of()
        )
    ]
    assert chunks == [[fan1], [fan2]]
    followees = [
        (f.user_id, f.follower_count)
        async for r in servicer.StreamFollowing(
            ipb.StreamFollowingRequest(user_id=fan1), context_of()
        )
        for f in r.followees
    ]
    assert followees == [(star, 2)]
    filtered = await servicer.FilterFollowed(
        ipb.FilterFollowedRequest(user_id=fan1, candidate_ids=[fan2, star]), context_of()
    )
    assert list(filtered.celebrity_ids) == []  # not asked for
    with_celebrities = await servicer.FilterFollowed(
        ipb.FilterFollowedRequest(
            user_id=fan1, candidate_ids=[fan2], celebrity_min_follower_count=2
        ),
        context_of(),
    )
    assert list(with_celebrities.followed_ids) == []
    assert list(with_celebrities.celebrity_ids) == [star]
    assert list(filtered.followed_ids) == [star]


async def test_update_profile_reads_the_mask_or_every_field_that_is_set(
    world: GraphWorld,
) -> None:
    servicer = GraphServicer(world.graph, world.sessions, world.erasures)
    (ada,) = await world.users("ada")
    masked = pb.UpdateProfileRequest(user=pb.User(display_name="Ada", bio="ignored"))
    masked.update_mask.paths.append("display_name")
    user = (await servicer.UpdateProfile(masked, context_of(ada))).user
    assert (user.display_name, user.bio) == ("Ada", "")
    unmasked = pb.UpdateProfileRequest(user=pb.User(bio="logic"))
    user = (await servicer.UpdateProfile(unmasked, context_of(ada))).user
    assert (user.display_name, user.bio) == ("Ada", "logic")
    with pytest.raises(Unauthenticated):
        await servicer.UpdateProfile(unmasked, context_of())


async def test_batch_get_user_summaries_answers_known_users_once_in_the_order_asked(
    world: GraphWorld,
) -> None:
    servicer = GraphServicer(world.graph, world.sessions, world.erasures)
    ada, bob = await world.users("ada", "bob")
    await world.graph.update_profile(bob, {"display_name": "Bob B."})
    request = ipb.BatchGetUserSummariesRequest(user_ids=[bob, 404, ada, bob])
    got = await servicer.BatchGetUserSummaries(request, context_of())
    assert [(u.id, u.username, u.display_name) for u in got.users] == [
        (bob, "bob", "Bob B."),
        (ada, "ada", ""),
    ]
    too_many = ipb.BatchGetUserSummariesRequest(user_ids=range(501))
    with pytest.raises(InvalidArgument):
        await servicer.BatchGetUserSummaries(too_many, context_of())


async def test_an_avatar_upload_becomes_the_avatar_once_processed_and_is_announced(
    world: GraphWorld,
) -> None:
    servicer = GraphServicer(world.graph, world.sessions, world.erasures)
    (ada,) = await world.users("ada")
    request = pb.CreateAvatarUploadRequest(content_type="image/png", size_bytes=2048)
    target = (await servicer.CreateAvatarUpload(request, context_of(ada))).upload
    [(upload_id, user_id, content_type, size)] = world.avatar_uploads.asked
    assert (user_id, content_type, size) == (ada, "image/png", 2048)
    assert target.url == f"http://media/uploads/{upload_id}"

    handler = GraphEventHandler(world.graph)
    avatar = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=320, height=320)
    processed = events_pb2.AvatarProcessed(user_id=ada, upload_id=upload_id, avatar=avatar)
    failed = events_pb2.AvatarFailed(user_id=ada, upload_id=upload_id + 1, reason="not a photo")
    for event in (
        events_pb2.Event(avatar_processed=processed),
        events_pb2.Event(avatar_failed=failed),
    ):
        await publish_event(world.log, event)
    assert await world.log.drain(handler.group, handler.topics, handler) == 2
    user = (await servicer.GetUser(pb.GetUserRequest(id=ada), context_of(ada))).user
    assert (user.avatar, user.avatar_failure_reason) == (avatar, "not a photo")
    summaries = await servicer.BatchGetUserSummaries(
        ipb.BatchGetUserSummariesRequest(user_ids=[ada]), context_of()
    )
    assert summaries.users[0].avatar == avatar
    # Caches of the author summary learn of it.
    [(key, announced)] = decoded(world.log, TOPIC_USERS)
    assert (key, announced.profile_updated.avatar) == (str(ada), avatar)


class DownableFollowingCache(InMemoryFollowingCache):
    """The following cache with its server stopped on demand (Redis down)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def followed_among(self, user_id: int, candidate_ids: Sequence[int]) -> set[int] | None:
        self._fail_if_down()
        return await super().followed_among(user_id, candidate_ids)

    async def fill(self, user_id: int, followed_ids: Sequence[int]) -> None:
        self._fail_if_down()
        await super().fill(user_id, followed_ids)

    async def invalidate(self, user_id: int) -> None:
        self._fail_if_down()
        await super().invalidate(user_id)

    def _fail_if_down(self) -> None:
        if self.down:
            raise Unavailable("Redis is unavailable (circuit open)")


async def test_a_follow_made_while_the_following_cache_is_down_is_settled_by_its_event(
    world: GraphWorld,
) -> None:
    cache = DownableFollowingCache()
    graph = Graph(
        world.store,
        world.sessions,
        CachedFollowing(world.store, cache),
        GraphEventPublisher(world.log),
        world.avatar_uploads,
        IdGenerator(FixedWorkerId(1)),
        Signer(b"k", purpose="graph-page"),
    )
    ada, bob = await world.users("ada", "bob")
    assert await graph.filter_followed(bob, [ada]) == []  # bob's empty set is now cached
    cache.down = True
    await graph.follow(bob, ada)  # answers although its invalidation failed
    assert await graph.filter_followed(bob, [ada]) == [ada]  # the store answers meanwhile
    cache.down = False
    assert await graph.filter_followed(bob, [ada]) == []  # the stale set is back in use...
    handler = GraphEventHandler(graph)
    await world.log.drain(handler.group, handler.topics, handler)
    assert await graph.filter_followed(bob, [ada]) == [ada]  # ...until the event drops it

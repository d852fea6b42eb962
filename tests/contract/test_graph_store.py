"""GraphStore contract."""

from __future__ import annotations

import pytest
from photoshare.media.v1 import media_pb2

from common.errors import AlreadyExists
from graph_svc.caching import CachedFollowing
from graph_svc.models import Erasure, Signup, User
from graph_svc.storage.base import FollowingCache, GraphStore


async def add_users(store: GraphStore, *ids: int) -> None:
    for i in ids:
        await store.create_user(User(i, f"user{i}", 1000 + i))


async def test_usernames_are_unique(graph_store: GraphStore) -> None:
    await add_users(graph_store, 1)
    with pytest.raises(AlreadyExists, match="taken"):
        await graph_store.create_user(User(2, "user1", 5))
    assert await graph_store.get_users([2]) == {}


async def test_users_are_found_by_username(graph_store: GraphStore) -> None:
    await add_users(graph_store, 1, 2)
    assert (await graph_store.get_user_by_username("user1")) == User(1, "user1", 1001)
    assert await graph_store.get_user_by_username("user3") is None


async def test_follow_is_idempotent_and_counted_once(graph_store: GraphStore) -> None:
    await add_users(graph_store, 1, 2)
    assert await graph_store.add_follow(1, 2, 50) is True
    assert await graph_store.add_follow(1, 2, 60) is False
    users = await graph_store.get_users([1, 2])
    assert (users[1].following_count, users[2].follower_count) == (1, 1)
    assert await graph_store.remove_follow(1, 2) is True
    assert await graph_store.remove_follow(1, 2) is False
    users = await graph_store.get_users([1, 2])
    assert (users[1].following_count, users[2].follower_count) == (0, 0)


async def test_lists_page_newest_first(graph_store: GraphStore) -> None:
    await add_users(graph_store, 1, 2, 3, 4)
    for at, follower in ((10, 2), (20, 3), (30, 4)):
        await graph_store.add_follow(follower, 1, at)
    first = await graph_store.followers(1, None, 2)
    assert [e.user_id for e in first] == [4, 3]
    rest = await graph_store.followers(1, first[-1].sort_key, 2)
    assert [e.user_id for e in rest] == [2]
    assert [e.user_id for e in await graph_store.following(2, None, 5)] == [1]


async def test_scans_for_fanout_and_celebrities(graph_store: GraphStore) -> None:
    await add_users(graph_store, 1, 2, 3, 4)
    for follower in (2, 3, 4):
        await graph_store.add_follow(follower, 1, 5)
    await graph_store.add_follow(2, 3, 5)
    assert await graph_store.follower_ids(1, 0, 2) == [2, 3]
    assert await graph_store.follower_ids(1, 3, 2) == [4]
    followees = await graph_store.followees(2, 0, 10)
    assert [(f.user_id, f.follower_count) for f in followees] == [(1, 3), (3, 1)]
    assert await graph_store.followed_with_min_followers(2, 3) == [1]
    assert await graph_store.followed_ids(2, 0, 10) == [1, 3]
    assert await graph_store.followed_ids(2, 1, 10) == [3]


async def test_filter_followed_through_the_cache_sees_every_change_at_once(
    graph_store: GraphStore, following_cache: FollowingCache
) -> None:
    following = CachedFollowing(graph_store, following_cache)
    await add_users(graph_store, 1, 2, 3, 4)
    for followed in (1, 3):
        await graph_store.add_follow(2, followed, 5)
    assert await following.filter_followed(2, [1, 4, 3, 99]) == {1, 3}  # a miss: loads
    assert await following.filter_followed(2, [1, 4]) == {1}  # a hit
    await graph_store.remove_follow(2, 1)
    await following.changed(2)
    assert await following.filter_followed(2, [1, 4, 3]) == {3}
    assert await following.celebrities(2, 1) == [3]
    await graph_store.add_follow(2, 4, 6)
    await following.changed(2)
    assert await following.celebrities(2, 1) == [3, 4]


async def test_posts_are_counted_once(graph_store: GraphStore) -> None:
    await add_users(graph_store, 1)
    for _ in range(3):
        await graph_store.record_post(1, 77)
    await graph_store.record_post(1, 78)
    assert (await graph_store.get_users([1]))[1].post_count == 2
    for _ in range(2):  # a deleted post leaves the count once
        await graph_store.unrecord_post(1, 77)
    await graph_store.unrecord_post(1, 79)  # never counted
    assert (await graph_store.get_users([1]))[1].post_count == 1
    await graph_store.unrecord_post(1, 78, uncount=False)  # forgotten, the count untouched
    await graph_store.unrecord_post(1, 78)
    assert (await graph_store.get_users([1]))[1].post_count == 1


async def test_profiles_change_field_by_field(graph_store: GraphStore) -> None:
    await add_users(graph_store, 1, 2)
    assert (await graph_store.get_users([1]))[1].display_name == ""
    await graph_store.update_profile(1, {"display_name": "One", "bio": "first"})
    await graph_store.update_profile(1, {"bio": "still first"})
    await graph_store.update_profile(1, {})
    one = (await graph_store.get_users([1]))[1]
    assert (one.display_name, one.bio, one.username) == ("One", "still first", "user1")
    two = await graph_store.get_user_by_username("user2")
    assert two is not None
    assert (two.display_name, two.bio) == ("", "")


async def test_the_latest_avatar_upload_wins_whatever_order_they_finish_in(
    graph_store: GraphStore,
) -> None:
    await add_users(graph_store, 1, 2)
    first, second = media_pb2.Media(width=1), media_pb2.Media(width=2)

    async def avatar_of(user_id: int) -> tuple[int | None, str | None]:
        user = (await graph_store.get_users([user_id]))[user_id]
        return (user.avatar.width if user.avatar else None, user.avatar_failure_reason)

    assert await avatar_of(1) == (None, None)
    await graph_store.fail_avatar(1, 100, "not a photo")
    assert await avatar_of(1) == (None, "not a photo")
    await graph_store.set_avatar(1, 300, second)
    await graph_store.set_avatar(1, 200, first)  # an earlier upload finishing later
    await graph_store.set_avatar(1, 300, second)  # a redelivery
    assert await avatar_of(1) == (2, None)
    await graph_store.fail_avatar(1, 250, "too late to matter")
    assert await avatar_of(1) == (2, None)
    await graph_store.fail_avatar(1, 400, "broken file")  # a later failure keeps the avatar
    assert await avatar_of(1) == (2, "broken file")
    await graph_store.set_avatar(1, 500, first)
    assert await avatar_of(1) == (1, None)
    assert await avatar_of(2) == (None, None)


async def test_a_sign_up_is_remembered_once_under_its_request_id(graph_store: GraphStore) -> None:
    first = Signup(1, "ada", "ps_first", 1_000)
    assert await graph_store.remember_signup("key-1", first) == first
    assert await graph_store.remember_signup("key-1", Signup(2, "eve", "ps_other", 2_000)) == first
    other = Signup(3, "bob", "ps_bob", 3_000)
    assert await graph_store.remember_signup("key-2", other) == other


async def test_a_follow_request_id_keeps_the_first_followed_user(graph_store: GraphStore) -> None:
    assert await graph_store.remember_follow_request(1, "key-1", 2) == 2
    assert await graph_store.remember_follow_request(1, "key-1", 3) == 2
    assert await graph_store.remember_follow_request(1, "key-2", 3) == 3
    assert await graph_store.remember_follow_request(4, "key-1", 3) == 3  # per follower


async def test_creating_the_same_user_again_finishes_it_and_another_id_is_refused(
    graph_store: GraphStore,
) -> None:
    ada = User(1, "ada", 1_000)
    await graph_store.create_user(ada)
    await graph_store.create_user(ada)  # a retry after a crash
    with pytest.raises(AlreadyExists):
        await graph_store.create_user(User(2, "ada", 2_000))
    assert await graph_store.get_users([1, 2]) == {1: ada}


async def test_an_erased_user_is_found_by_no_read_until_released(
    graph_store: GraphStore,
) -> None:
    await add_users(graph_store, 1, 2)
    await graph_store.update_profile(1, {"bio": "hello"})
    await graph_store.add_follow(2, 1, 50)
    own, others = Signup(1, "user1", "ps_1", 1_000), Signup(2, "user2", "ps_2", 1_000)
    await graph_store.remember_signup("sign-up-1", own)
    await graph_store.remember_signup("sign-up-2", others)
    await graph_store.remember_follow_request(1, "follow-1", 2)
    await graph_store.mark_erased(1, 5_000)
    await graph_store.mark_erased(1, 6_000)  # again: nothing changes
    assert await graph_store.get_users([1, 2]) == {2: User(2, "user2", 1002, following_count=1)}
    assert await graph_store.get_user_by_username("user1") is None
    with pytest.raises(AlreadyExists):  # the name is kept until released
        await graph_store.create_user(User(3, "user1", 3_000))

    await graph_store.erase_account_rows(1)
    await graph_store.erase_account_rows(1)
    # Her remembered requests are forgotten (a retry is a new request); others' are kept.
    retried = Signup(9, "user9", "ps_9", 9_000)
    assert await graph_store.remember_signup("sign-up-1", retried) == retried
    assert await graph_store.remember_signup("sign-up-2", retried) == others
    assert await graph_store.remember_follow_request(1, "follow-1", 5) == 5
    await graph_store.release_user(1, "user1")
    await graph_store.release_user(1, "user1")
    await graph_store.create_user(User(3, "user1", 3_000))
    assert (await graph_store.get_user_by_username("user1")) == User(3, "user1", 3_000)


async def test_an_erasure_is_recorded_once_and_moves_through_its_steps(
    graph_store: GraphStore,
) -> None:
    first = Erasure(1, "ada", "HIDE", 1_000, 61_000)
    assert await graph_store.start_erasure(first) == first
    assert await graph_store.start_erasure(Erasure(1, "ada", "HIDE", 2_000, 62_000)) == first
    await graph_store.start_erasure(Erasure(2, "bob", "HIDE", 1_500, 61_500))
    await graph_store.save_erasure(Erasure(1, "ada", "POSTS", 1_000, 61_000))
    assert await graph_store.erasures() == [
        Erasure(1, "ada", "POSTS", 1_000, 61_000),
        Erasure(2, "bob", "HIDE", 1_500, 61_500),
    ]
    await graph_store.finish_erasure(1)
    await graph_store.finish_erasure(1)
    assert [e.user_id for e in await graph_store.erasures()] == [2]

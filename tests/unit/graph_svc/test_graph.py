"""The social graph's rules: sign-up, tokens, follows, paging, the feed's internal queries."""

from __future__ import annotations

import pytest

from common.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, Unauthenticated
from common.events.base import TOPIC_FOLLOWS, TOPIC_USERS
from graph_svc.graph import MAX_FILTER_CANDIDATES, MAX_PAGE_SIZE
from tests.fakes import decoded
from tests.unit.graph_svc.conftest import GraphWorld


async def test_sign_up_gives_a_token_that_authenticates_its_user(world: GraphWorld) -> None:
    user, token = await world.graph.create_user("ada.l_1")
    assert token.startswith("ps_")
    assert (await world.sessions.authenticate(token)).user_id == user.id
    assert (await world.graph.lookup("ada.l_1")).id == user.id
    for bad in ("", "ps_not-a-token"):
        with pytest.raises(Unauthenticated):
            await world.sessions.authenticate(bad)


@pytest.mark.parametrize("name", ["ab", "x" * 31, "Ada", "ada lovelace", "ada-l"])
async def test_usernames_outside_the_rule_are_refused(world: GraphWorld, name: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await world.graph.create_user(name)
    assert (refused.value.reason, refused.value.field) == ("INVALID_USERNAME", "username")


async def test_a_taken_name_and_unknown_users_say_so(world: GraphWorld) -> None:
    await world.graph.create_user("ada")
    with pytest.raises(AlreadyExists):
        await world.graph.create_user("ada")
    with pytest.raises(NotFound) as missing:
        await world.graph.get_user(404)
    assert missing.value.metadata == {"userId": "404"}
    with pytest.raises(NotFound):
        await world.graph.lookup("nobody")
    with pytest.raises(InvalidArgument):
        await world.graph.lookup("")


async def test_follow_rules_and_every_call_announces_the_edge(world: GraphWorld) -> None:
    ada, bob = await world.users("ada", "bob")
    with pytest.raises(InvalidArgument) as self_follow:
        await world.graph.follow(ada, ada)
    assert self_follow.value.reason == "SELF_FOLLOW"
    with pytest.raises(NotFound):
        await world.graph.follow(ada, 404)
    await world.graph.follow(bob, ada)
    await world.graph.follow(bob, ada)  # again: announced again, so a lost event is repaired
    await world.graph.unfollow(bob, ada)
    changes = [(key, e.follow_changed) for key, e in decoded(world.log, TOPIC_FOLLOWS)]
    assert [(key, c.follower_id, c.followed_id, c.following) for key, c in changes] == [
        (str(bob), bob, ada, True),
        (str(bob), bob, ada, True),
        (str(bob), bob, ada, False),
    ]
    assert (await world.graph.get_user(ada)).follower_count == 0


async def test_an_unfollow_is_seen_by_the_next_filter_at_once(world: GraphWorld) -> None:
    ada, bob, cy = await world.users("ada", "bob", "cyd")
    await world.graph.follow(bob, ada)
    await world.graph.follow(bob, cy)
    assert await world.graph.filter_followed(bob, [cy, 404, ada]) == [cy, ada]  # cached now
    await world.graph.unfollow(bob, ada)
    assert await world.graph.filter_followed(bob, [cy, ada]) == [cy]
    await world.graph.follow(bob, ada)
    assert await world.graph.filter_followed(bob, [ada]) == [ada]
    with pytest.raises(InvalidArgument):
        await world.graph.filter_followed(bob, list(range(MAX_FILTER_CANDIDATES + 1)))


async def test_celebrities_among_followees_follow_the_readers_own_follows(
    world: GraphWorld,
) -> None:
    star, fan, other = await world.users("star", "fan", "other")
    await world.graph.follow(other, star)
    assert await world.graph.followed_celebrities(fan, 1) == []
    await world.graph.follow(fan, star)
    assert await world.graph.followed_celebrities(fan, 2) == [star]
    with pytest.raises(InvalidArgument):
        await world.graph.followed_celebrities(fan, 0)


async def test_follower_lists_page_newest_first_with_signed_tokens(world: GraphWorld) -> None:
    star, *fans = await world.users("star", "fan1", "fan2", "fan3")
    times = iter([10, 20, 30])
    for fan in fans:
        await world.store.add_follow(fan, star, next(times))
    first = await world.graph.followers_page(star, 2, "")
    assert [u.id for u in first.users] == [fans[2], fans[1]]
    assert first.next_page_token is not None
    rest = await world.graph.followers_page(star, 2, first.next_page_token)
    assert ([u.id for u in rest.users], rest.next_page_token) == ([fans[0]], None)
    assert [u.id for u in (await world.graph.following_page(fans[0], 0, "")).users] == [star]
    with pytest.raises(InvalidArgument):  # a token is bound to the list it came from
        await world.graph.followers_page(fans[0], 2, first.next_page_token)
    with pytest.raises(InvalidArgument):
        await world.graph.followers_page(star, MAX_PAGE_SIZE + 1, "")
    with pytest.raises(NotFound):
        await world.graph.followers_page(404, 2, "")


async def test_fan_out_scans_every_follower_in_chunks(world: GraphWorld) -> None:
    star, *fans = await world.users("star", "fan1", "fan2", "fan3")
    for fan in fans:
        await world.graph.follow(fan, star)
    chunks = [chunk async for chunk in world.graph.follower_id_chunks(star, 2)]
    assert chunks == [sorted(fans)[:2], sorted(fans)[2:]]
    followees = [f async for chunk in world.graph.followee_chunks(fans[0], 0) for f in chunk]
    assert [(f.user_id, f.follower_count) for f in followees] == [(star, 3)]


async def test_a_post_is_counted_once_however_often_it_is_recorded(world: GraphWorld) -> None:
    (ada,) = await world.users("ada")
    for _ in range(3):
        await world.graph.record_post(ada, 77)
    assert (await world.graph.get_user(ada)).post_count == 1


async def test_a_profile_changes_only_the_named_fields_and_is_announced(
    world: GraphWorld,
) -> None:
    (ada,) = await world.users("ada")
    user = await world.graph.update_profile(ada, {"display_name": "  Ada L. ", "bio": "math"})
    assert (user.display_name, user.bio, user.username) == ("Ada L.", "math", "ada")
    user = await world.graph.update_profile(ada, {"bio": ""})
    assert (user.display_name, user.bio) == ("Ada L.", "")
    (update,) = [e.profile_updated for _, e in decoded(world.log, TOPIC_USERS)][1:]
    assert (update.user_id, update.display_name, update.bio) == (ada, "Ada L.", "")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"username": "eve"}, "UNKNOWN_MASK_PATH"),
        ({}, "EMPTY_UPDATE"),
        ({"display_name": "x" * 65}, "PROFILE_FIELD_TOO_LONG"),
        ({"bio": "x" * 301}, "PROFILE_FIELD_TOO_LONG"),
    ],
)
async def test_profile_changes_outside_the_rules_are_refused(
    world: GraphWorld, changes: dict[str, str], reason: str
) -> None:
    (ada,) = await world.users("ada")
    with pytest.raises(InvalidArgument) as refused:
        await world.graph.update_profile(ada, changes)
    assert refused.value.reason == reason
    assert (await world.graph.get_user(ada)).display_name == ""


async def test_a_retried_sign_up_gets_the_first_answer_even_after_a_crash(
    world: GraphWorld,
) -> None:
    user, token = await world.graph.create_user("ada", request_id="k1")
    assert await world.graph.create_user("ada", request_id="k1") == (user, token)
    with pytest.raises(AlreadyExists):
        await world.graph.create_user("ada", request_id="k2")  # another sign-up: taken
    with pytest.raises(Conflict, match="another sign-up"):
        await world.graph.create_user("eve", request_id="k1")
    with pytest.raises(InvalidArgument):
        await world.graph.create_user("eve", request_id="é" * 3)

    # The process dies after the sign-up was remembered, before the user was created.
    create = world.store.create_user

    async def crash(*args: object) -> None:
        raise ConnectionError("killed")

    world.store.create_user = crash  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        await world.graph.create_user("bob", request_id="k3")
    world.store.create_user = create  # type: ignore[method-assign]
    bob, bob_token = await world.graph.create_user("bob", request_id="k3")
    assert (await world.sessions.authenticate(bob_token)).user_id == bob.id
    assert (await world.graph.lookup("bob")).id == bob.id

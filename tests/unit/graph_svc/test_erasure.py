"""Erasing an account: hidden at once, then every step, resumed after a crash."""

from __future__ import annotations

import pytest

from common.errors import AlreadyExists, NotFound, Unauthenticated
from common.events.base import TOPIC_FOLLOWS, TOPIC_USERS
from graph_svc.erasure import DONE, FOLLOWS, POSTS, RELEASE, Erasures
from tests.fakes import decoded
from tests.unit.graph_svc.conftest import GraphWorld


async def test_an_erased_account_is_hidden_at_once_and_its_traces_go_step_by_step(
    world: GraphWorld,
) -> None:
    graph, store = world.graph, world.store
    ada, ada_token = await graph.create_user("ada", password="correct horse")
    bob_id, carol_id, dan_id = await world.users("bob", "carol", "dan")
    for follower, followed in [(ada.id, bob_id), (ada.id, carol_id), (carol_id, ada.id),
                               (dan_id, ada.id), (bob_id, carol_id)]:  # fmt: skip
        await graph.follow(follower, followed)
    await store.update_profile(ada.id, {"bio": "hello"})
    world.post_eraser.posts[ada.id] = 25
    world.post_eraser.likes[ada.id] = 12
    world.media_eraser.uploads[ada.id] = 26  # her posts' media and her avatar

    erasure = await world.erasures.request(ada.id)
    assert (erasure.step, erasure.release_at_ms) == (FOLLOWS, 1_000 + 60_000)
    assert world.post_eraser.forgotten == [ada.id]  # post_svc hides her content at once
    with pytest.raises(NotFound):
        await graph.get_user(ada.id)
    with pytest.raises(NotFound):
        await graph.lookup("ada")
    with pytest.raises(Unauthenticated):
        await world.sessions.authenticate(ada_token)
    with pytest.raises(Unauthenticated):
        await world.sessions.sign_in("ada", "correct horse", "")
    users_events = [e.WhichOneof("payload") for _, e in decoded(world.log, TOPIC_USERS)]
    assert {"sessions_revoked", "user_erased"} <= set(users_events)
    with pytest.raises(AlreadyExists):  # the name stays taken for the grace period
        await graph.create_user("ada")

    erasure = await world.erasures.advance(erasure)
    assert erasure.step == RELEASE  # waits for the grace period
    assert world.post_eraser.posts[ada.id] == 0
    assert world.post_eraser.calls == 3  # 10 at a time
    assert world.post_eraser.likes[ada.id] == 0
    assert world.media_eraser.uploads[ada.id] == 0
    assert world.feed_eraser.erased == [ada.id]
    others = await store.get_users([bob_id, carol_id, dan_id])
    counts = {u.username: (u.follower_count, u.following_count) for u in others.values()}
    assert counts == {"bob": (0, 1), "carol": (1, 0), "dan": (0, 0)}
    assert await graph.filter_followed(carol_id, [ada.id]) == []
    unfollows = {
        (e.follow_changed.follower_id, e.follow_changed.followed_id)
        for _, e in decoded(world.log, TOPIC_FOLLOWS)
        if not e.follow_changed.following
    }
    assert unfollows == {(ada.id, bob_id), (ada.id, carol_id), (carol_id, ada.id), (dan_id, ada.id)}
    assert await world.erasures.status(ada.id) == erasure

    world.clock.now = erasure.release_at_ms
    assert (await world.erasures.advance(erasure)).step == DONE
    assert await world.erasures.status(ada.id) is None  # nothing of it is kept
    assert await store.erasures() == []
    new_ada, _ = await graph.create_user("ada")  # the name is free again
    assert new_ada.id != ada.id


async def test_an_erasure_cut_short_resumes_at_its_step_after_a_restart(
    world: GraphWorld,
) -> None:
    ada, _ = await world.graph.create_user("ada")
    world.post_eraser.posts[ada.id] = 15
    erasure = await world.erasures.request(ada.id)
    world.post_eraser.fail = True
    with pytest.raises(ConnectionError):  # post_svc died during the POSTS step
        await world.erasures.advance(erasure)
    [recorded] = await world.store.erasures()
    assert recorded.step == POSTS

    restarted = Erasures(
        world.store,
        world.sessions,
        world.following,
        world.events,
        world.post_eraser,
        world.media_eraser,
        world.feed_eraser,
        clock=world.clock,
    )
    world.clock.now = recorded.release_at_ms
    assert (await restarted.advance(recorded)).step == DONE
    assert world.post_eraser.posts[ada.id] == 0
    assert await world.store.erasures() == []


async def test_erasing_an_unknown_or_erased_user_is_404(world: GraphWorld) -> None:
    ada, _ = await world.graph.create_user("ada")
    await world.erasures.request(ada.id)
    for user_id in (ada.id, 404):
        with pytest.raises(NotFound):
            await world.erasures.request(user_id)
    assert [e.step for e in await world.store.erasures()] == [FOLLOWS]

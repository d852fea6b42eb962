"""Signing in and out: passwords, sessions, revocation events."""

from __future__ import annotations

import argon2
import pytest

from common.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from common.events.base import TOPIC_USERS
from common.tokens import hash_token
from graph_svc.models import Caller
from graph_svc.sessions import WRONG_CREDENTIALS
from tests.fakes import decoded
from tests.unit.graph_svc.conftest import GraphWorld


def revoked(world: GraphWorld) -> list[tuple[int, list[bytes]]]:
    return [
        (e.sessions_revoked.user_id, list(e.sessions_revoked.token_hashes))
        for _, e in decoded(world.log, TOPIC_USERS)
        if e.HasField("sessions_revoked")
    ]


async def test_signing_in_on_a_second_device_and_signing_the_first_out(world: GraphWorld) -> None:
    ada, first_token = await world.graph.create_user(
        "ada", password="correct horse", session_label="phone"
    )
    world.clock.now = 2_000
    session, second_token = await world.sessions.sign_in("Ada ", "correct horse", "laptop")
    laptop = await world.sessions.authenticate(second_token)
    assert (laptop.user_id, laptop.session_id) == (ada.id, session.id)
    listed = await world.sessions.list(laptop)
    assert [(s.label, s.created_at_ms) for s in listed] == [("laptop", 2_000), ("phone", 1_000)]

    phone = listed[1]
    await world.sessions.sign_out(laptop, str(phone.id))
    assert revoked(world) == [(ada.id, [hash_token(first_token)])]  # announced to gateways
    with pytest.raises(Unauthenticated):
        await world.sessions.authenticate(first_token)
    with pytest.raises(NotFound):
        await world.sessions.sign_out(laptop, str(phone.id))  # again
    await world.sessions.sign_out(laptop, "current")
    with pytest.raises(Unauthenticated):
        await world.sessions.authenticate(second_token)


async def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(
    world: GraphWorld,
) -> None:
    await world.graph.create_user("ada", password="correct horse")
    await world.graph.create_user("bob")  # no password: cannot sign in
    answers = []
    for username, password in [("ada", "wrong horse"), ("nobody", "correct horse"),
                               ("bob", "anything at all"), ("ada", "x" * 10_000)]:  # fmt: skip
        with pytest.raises(Unauthenticated) as refused:
            await world.sessions.sign_in(username, password, "")
        answers.append((refused.value.reason, str(refused.value)))
    assert set(answers) == {("WRONG_CREDENTIALS", WRONG_CREDENTIALS)}
    with pytest.raises(InvalidArgument):
        await world.sessions.sign_in("ada", "", "")


async def test_bad_passwords_and_labels_are_refused_before_anything_is_created(
    world: GraphWorld,
) -> None:
    for password, label in [("short", ""), ("x" * 257, ""), ("long enough", "l" * 101)]:
        with pytest.raises(InvalidArgument):
            await world.graph.create_user("ada", password=password, session_label=label)
    assert await world.store.get_user_by_username("ada") is None


async def test_changing_the_password_needs_it_and_signs_out_the_other_sessions(
    world: GraphWorld,
) -> None:
    ada, phone_token = await world.graph.create_user("ada")
    phone = await world.sessions.authenticate(phone_token)
    await world.sessions.set_password(phone, "", "first password")  # none yet: no check
    assert revoked(world) == []
    _, laptop_token = await world.sessions.sign_in("ada", "first password", "laptop")
    laptop = await world.sessions.authenticate(laptop_token)

    with pytest.raises(InvalidArgument):
        await world.sessions.set_password(laptop, "", "second password")
    with pytest.raises(PermissionDenied):
        await world.sessions.set_password(laptop, "wrong password", "second password")
    with pytest.raises(InvalidArgument):
        await world.sessions.set_password(laptop, "first password", "short")
    await world.sessions.set_password(laptop, "first password", "second password")
    assert revoked(world) == [(ada.id, [hash_token(phone_token)])]
    with pytest.raises(Unauthenticated):
        await world.sessions.authenticate(phone_token)
    assert (await world.sessions.authenticate(laptop_token)).user_id == ada.id
    with pytest.raises(Unauthenticated):
        await world.sessions.sign_in("ada", "first password", "")
    await world.sessions.sign_in("ada", "second password", "")


async def test_a_sessions_last_use_is_written_at_most_once_a_minute(world: GraphWorld) -> None:
    _, token = await world.graph.create_user("ada")
    for now in (5_000, 30_000, 70_000):
        world.clock.now = now
        caller = await world.sessions.authenticate(token)
    [session] = await world.sessions.list(caller)
    assert session.last_used_at_ms == 70_000  # 5 s, then 70 s (30 s was within the minute)


async def test_a_hash_made_with_older_parameters_is_upgraded_at_sign_in(
    world: GraphWorld,
) -> None:
    ada, _ = await world.graph.create_user("ada")
    older = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=16)
    await world.session_store.set_password_hash(ada.id, older.hash("correct horse"))
    await world.sessions.sign_in("ada", "correct horse", "")
    upgraded = await world.session_store.password_hash(ada.id)
    assert upgraded is not None
    assert argon2.extract_parameters(upgraded).hash_len == 32  # today's
    await world.sessions.sign_in("ada", "correct horse", "")  # and it still signs in


async def test_a_session_id_that_is_no_number_is_refused(world: GraphWorld) -> None:
    _, token = await world.graph.create_user("ada")
    caller = await world.sessions.authenticate(token)
    with pytest.raises(InvalidArgument):
        await world.sessions.sign_out(caller, "all")
    with pytest.raises(NotFound):
        await world.sessions.sign_out(Caller(caller.user_id + 1, 0), str(caller.session_id))

"""SessionStore contract."""

from __future__ import annotations

from graph_svc.models import Session
from graph_svc.storage.base import SessionStore


def session(session_id: int, user_id: int = 7, label: str = "phone") -> Session:
    return Session(session_id, user_id, f"hash{session_id}".encode(), label, 1_000, 0)


async def test_a_session_resolves_by_its_token_until_it_is_removed(
    session_store: SessionStore,
) -> None:
    for session_id in (1, 2, 3):
        await session_store.add_session(session(session_id, user_id=8 if session_id == 3 else 7))
    await session_store.add_session(session(1))  # a retried sign-up adds it again
    assert await session_store.session_for_token(b"hash1") == session(1)
    assert await session_store.session_for_token(b"nope") is None
    assert await session_store.sessions_of(7) == [session(2), session(1)]  # newest first

    await session_store.remove_sessions(7, [1, 3])  # 3 is another user's: untouched
    await session_store.remove_sessions(7, [1])  # again: nothing changes
    assert await session_store.session_for_token(b"hash1") is None
    assert await session_store.sessions_of(7) == [session(2)]
    assert await session_store.session_for_token(b"hash3") == session(3, user_id=8)


async def test_a_use_is_recorded_and_never_moves_back_nor_revives_a_session(
    session_store: SessionStore,
) -> None:
    await session_store.add_session(session(1))
    await session_store.touch_session(session(1), 5_000)
    found = await session_store.session_for_token(b"hash1")
    assert found is not None
    assert found.last_used_at_ms == 5_000
    await session_store.remove_sessions(7, [1])
    await session_store.touch_session(found, 9_000)  # a request that raced the sign-out
    assert await session_store.session_for_token(b"hash1") is None
    assert await session_store.sessions_of(7) == []


async def test_a_password_hash_is_kept_per_user(session_store: SessionStore) -> None:
    assert await session_store.password_hash(7) is None
    await session_store.set_password_hash(7, "$argon2id$first")
    await session_store.set_password_hash(7, "$argon2id$second")
    assert await session_store.password_hash(7) == "$argon2id$second"
    assert await session_store.password_hash(8) is None
    await session_store.delete_password(7)
    await session_store.delete_password(7)  # again: nothing changes
    assert await session_store.password_hash(7) is None

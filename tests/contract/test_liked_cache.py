"""LikedCache contract: per-user answers, fills that never overwrite, and changes with a dirty
mark."""

from __future__ import annotations

from post_svc.storage.base import LikedCache


async def test_only_filled_answers_are_found(liked_cache: LikedCache) -> None:
    assert await liked_cache.get(1, [10, 11]) == {}
    await liked_cache.fill(1, {10: True, 11: False})
    assert await liked_cache.get(1, [10, 11, 12]) == {10: True, 11: False}
    assert await liked_cache.get(2, [10]) == {}  # another user's answers are their own
    assert await liked_cache.get(1, []) == {}


async def test_a_fill_never_overwrites_an_answer(liked_cache: LikedCache) -> None:
    await liked_cache.fill(1, {10: True})
    await liked_cache.fill(1, {10: False, 11: True})
    assert await liked_cache.get(1, [10, 11]) == {10: True, 11: True}


async def test_a_change_forgets_the_answer_and_refuses_fills_that_may_predate_it(
    liked_cache: LikedCache,
) -> None:
    await liked_cache.fill(1, {10: False, 11: False})
    await liked_cache.fill(2, {10: False})
    await liked_cache.changed(1, 10)  # user 1 liked post 10
    assert await liked_cache.get(1, [10, 11]) == {11: False}
    await liked_cache.fill(1, {10: False, 12: True})  # read from before the like
    assert await liked_cache.get(1, [10, 12]) == {}
    assert await liked_cache.get(2, [10]) == {10: False}  # other users' are untouched


async def test_an_erased_users_answers_go(liked_cache: LikedCache) -> None:
    await liked_cache.fill(1, {10: True})
    await liked_cache.fill(2, {10: True})
    await liked_cache.changed(1, 11)
    await liked_cache.forget(1)
    assert await liked_cache.get(1, [10]) == {}
    await liked_cache.fill(1, {10: False})  # no dirty mark is left either
    assert await liked_cache.get(1, [10]) == {10: False}
    assert await liked_cache.get(2, [10]) == {10: True}
    await liked_cache.forget(3)  # nothing to forget: no error

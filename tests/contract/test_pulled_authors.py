"""PulledAuthorStore contract: a record per pulled author, read for many authors at once."""

from __future__ import annotations

from feed_svc.models import PulledAuthor
from feed_svc.storage.base import PulledAuthorStore


async def test_only_pulled_authors_are_found(pulled_authors: PulledAuthorStore) -> None:
    assert await pulled_authors.get([1, 2]) == {}
    assert await pulled_authors.get([]) == {}
    await pulled_authors.put(1, PulledAuthor((1_700_000_000_123, 2**62 + 5)))
    assert await pulled_authors.get([1, 2]) == {1: PulledAuthor((1_700_000_000_123, 2**62 + 5))}


async def test_an_author_being_pushed_again_is_leaving_until_removed(
    pulled_authors: PulledAuthorStore,
) -> None:
    await pulled_authors.put(1, PulledAuthor((1_000, 7)))
    await pulled_authors.put(2, PulledAuthor((2_000, 8)))
    await pulled_authors.put(1, PulledAuthor((1_000, 7), leaving=True))
    assert await pulled_authors.get([1, 2]) == {
        1: PulledAuthor((1_000, 7), leaving=True),
        2: PulledAuthor((2_000, 8)),
    }
    await pulled_authors.remove(1)
    await pulled_authors.remove(1)  # idempotent
    assert await pulled_authors.get([1, 2]) == {2: PulledAuthor((2_000, 8))}

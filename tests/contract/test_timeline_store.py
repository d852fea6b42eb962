"""TimelineStore contract."""

from __future__ import annotations

from feed_svc.models import FeedEntry
from feed_svc.storage.base import TimelineStore
from tests.contract.conftest import TIMELINE_MAX_LEN


def entry(n: int, author: int = 9) -> FeedEntry:
    return FeedEntry(1000 + n, n, author)


async def test_absent_until_built_and_pushes_land_while_building(
    timeline_store: TimelineStore,
) -> None:
    await timeline_store.push([1], entry(1))
    assert await timeline_store.page(1, None, 10) is None
    await timeline_store.begin(1)
    assert not await timeline_store.is_ready(1)
    await timeline_store.push([1], entry(3))  # arrives during the rebuild
    await timeline_store.complete(1, [entry(2), entry(1)], None)
    page = await timeline_store.page(1, None, 10)
    assert page is not None
    assert [e.post_id for e in page.entries] == [3, 2, 1]
    assert page.floor is None


async def test_pages_before_a_key_and_pushes_are_idempotent(
    timeline_store: TimelineStore,
) -> None:
    await timeline_store.begin(1)
    await timeline_store.complete(1, [], None)
    for n in (1, 2, 3, 3, 4):
        await timeline_store.push([1, 2], entry(n))
    assert await timeline_store.page(2, None, 10) is None  # never built: skipped
    page = await timeline_store.page(1, entry(3).key, 10)
    assert page is not None
    assert [e.post_id for e in page.entries] == [2, 1]


async def test_trims_to_max_len_and_sets_the_floor(timeline_store: TimelineStore) -> None:
    await timeline_store.begin(1)
    await timeline_store.complete(1, [], None)
    for n in range(1, TIMELINE_MAX_LEN + 3):
        await timeline_store.push([1], entry(n))
    page = await timeline_store.page(1, None, 100)
    assert page is not None
    assert len(page.entries) == TIMELINE_MAX_LEN
    assert page.floor == page.entries[-1].key
    await timeline_store.push([1], entry(0))  # below the floor: pulled at read time instead
    page = await timeline_store.page(1, None, 100)
    assert page is not None
    assert entry(0) not in page.entries


async def test_backfill_and_remove_author(timeline_store: TimelineStore) -> None:
    await timeline_store.begin(1)
    await timeline_store.complete(1, [entry(1, author=5)], None)
    await timeline_store.add(1, [entry(2, author=6), entry(3, author=6)])
    await timeline_store.remove_author(1, 6)
    page = await timeline_store.page(1, None, 10)
    assert page is not None
    assert [e.post_id for e in page.entries] == [1]


async def test_one_entry_leaves_every_timeline_that_has_it(timeline_store: TimelineStore) -> None:
    for owner in (1, 2):
        await timeline_store.begin(owner)
        await timeline_store.complete(owner, [entry(2), entry(1)], None)
    await timeline_store.remove([1, 2, 3], entry(2))  # 3 has no timeline: nothing happens
    await timeline_store.remove([1], entry(2))  # again: nothing changes
    for owner in (1, 2):
        page = await timeline_store.page(owner, None, 10)
        assert page is not None
        assert [e.post_id for e in page.entries] == [1]
    assert await timeline_store.page(3, None, 10) is None


async def test_a_dropped_timeline_is_gone_and_takes_no_pushes(
    timeline_store: TimelineStore,
) -> None:
    for owner in (1, 2):
        await timeline_store.begin(owner)
        await timeline_store.complete(owner, [entry(1)], None)
    await timeline_store.drop(1)
    await timeline_store.drop(1)  # again: nothing changes
    await timeline_store.push([1, 2], entry(2))
    assert not await timeline_store.is_ready(1)
    assert await timeline_store.page(1, None, 10) is None
    page = await timeline_store.page(2, None, 10)
    assert page is not None
    assert [e.post_id for e in page.entries] == [2, 1]


async def test_home_and_author_timelines_of_one_user_are_apart(
    timeline_store: TimelineStore, author_timelines: TimelineStore
) -> None:
    await author_timelines.begin(1)
    await author_timelines.complete(1, [entry(1, author=1)], None)
    assert not await timeline_store.is_ready(1)
    await timeline_store.begin(1)
    await timeline_store.complete(1, [], None)
    await author_timelines.push([1], entry(2, author=1))
    home = await timeline_store.page(1, None, 10)
    assert home is not None
    assert home.entries == []
    await timeline_store.drop(1)
    authored = await author_timelines.page(1, None, 10)
    assert authored is not None
    assert [e.post_id for e in authored.entries] == [2, 1]


async def test_holding_tells_which_timelines_have_an_entry(
    timeline_store: TimelineStore,
) -> None:
    for owner in (1, 2):
        await timeline_store.begin(owner)
        await timeline_store.complete(owner, [], None)
    await timeline_store.push([1], entry(5))
    assert await timeline_store.holding([1, 2, 3], entry(5)) == [True, False, False]
    assert await timeline_store.holding([], entry(5)) == []

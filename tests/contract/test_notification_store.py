"""NotificationStore contract: entries by key and in position order, actors, the read mark."""

from __future__ import annotations

from dataclasses import replace

from feed_svc.models import NotificationGroup, NotificationKind
from feed_svc.storage.base import NotificationStore

ADA = 1


def group(key: str, position: int, **changes: object) -> NotificationGroup:
    made = NotificationGroup(
        key=key,
        kind=NotificationKind.LIKE,
        position=position,
        updated_at_ms=position * 10,
        actor_count=1,
        recent_actor_ids=(7,),
        applied=("e1",),
        post_id=500,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_an_entry_is_read_back_whole_and_moves_when_saved_at_a_new_position(
    notification_store: NotificationStore,
) -> None:
    liked = group("like:500", 10, recent_actor_ids=(9, 8), applied=("e1", "e2"), actor_count=2)
    said = group(
        "comment:900", 20, kind=NotificationKind.COMMENT, comment_id=900, comment_text="héllo"
    )
    await notification_store.save_group(ADA, liked, None)
    await notification_store.save_group(ADA, said, None)
    assert await notification_store.group(ADA, "like:500") == liked
    assert await notification_store.group(ADA, "like:404") is None
    assert await notification_store.group(2, "like:500") is None
    assert await notification_store.page(ADA, None, 10) == [said, liked]

    moved = replace(liked, position=30, actor_count=3)
    await notification_store.save_group(ADA, moved, liked.position)
    assert [g.key for g in await notification_store.page(ADA, None, 10)] == [
        "like:500",
        "comment:900",
    ]
    assert await notification_store.page(ADA, 30, 10) == [said]
    assert await notification_store.page(ADA, None, 1) == [moved]
    await notification_store.delete_group(ADA, moved)
    assert await notification_store.page(ADA, None, 10) == [said]
    assert await notification_store.group(ADA, "like:500") is None


async def test_actors_are_a_set_per_entry(notification_store: NotificationStore) -> None:
    assert not await notification_store.has_actor(ADA, "like:500", 7)
    await notification_store.add_actor(ADA, "like:500", 7)
    await notification_store.add_actor(ADA, "like:500", 7)
    assert await notification_store.has_actor(ADA, "like:500", 7)
    assert not await notification_store.has_actor(ADA, "like:501", 7)
    await notification_store.remove_actor(ADA, "like:500", 7)
    await notification_store.remove_actor(ADA, "like:500", 7)
    assert not await notification_store.has_actor(ADA, "like:500", 7)


async def test_the_read_mark_only_moves_up_and_bounds_the_unread_count(
    notification_store: NotificationStore,
) -> None:
    for position in (10, 20, 30, 40):
        await notification_store.save_group(ADA, group(f"follow:{position}", position), None)
    assert await notification_store.read_up_to(ADA) == 0
    assert await notification_store.count_above(ADA, 0, 1000) == 4
    assert await notification_store.count_above(ADA, 0, 3) == 3
    await notification_store.mark_read(ADA, 20)
    await notification_store.mark_read(ADA, 15)
    assert await notification_store.read_up_to(ADA) == 20
    assert await notification_store.count_above(ADA, 20, 1000) == 2
    assert await notification_store.read_up_to(2) == 0


async def test_a_posts_entries_are_found_and_deleted_with_their_actors(
    notification_store: NotificationStore,
) -> None:
    about_500 = [group("like:500", 10), group("comment:9", 20, kind=NotificationKind.COMMENT)]
    others = [group("like:501", 30, post_id=501), group("follow:7", 40, post_id=0)]
    for saved in (*about_500, *others):
        await notification_store.save_group(1, saved, None)
        await notification_store.add_actor(1, saved.key, 7)
    await notification_store.save_group(2, group("like:500", 50), None)  # someone else's
    found = await notification_store.groups_about_post(1, 500)
    assert sorted(g.key for g in found) == ["comment:9", "like:500"]
    for doomed in found:
        await notification_store.delete_group(1, doomed)
    assert await notification_store.groups_about_post(1, 500) == []
    assert not await notification_store.has_actor(1, "like:500", 7)
    assert await notification_store.has_actor(1, "like:501", 7)
    assert [g.key for g in await notification_store.page(1, None, 10)] == ["follow:7", "like:501"]
    assert [g.key for g in await notification_store.groups_about_post(2, 500)] == ["like:500"]


async def test_an_erased_users_entries_go_and_the_entries_they_acted_in_are_found(
    notification_store: NotificationStore,
) -> None:
    store = notification_store
    for recipient, key in [(ADA, "follow:9"), (ADA, "like:500"), (2, "like:600")]:
        await store.save_group(recipient, group(key, 10 + recipient), None)
        await store.add_actor(recipient, key, 9)
    await store.add_actor(ADA, "like:500", 8)
    await store.mark_read(ADA, 11)
    assert sorted(await store.groups_with_actor(9, 10)) == [
        (ADA, "follow:9"),
        (ADA, "like:500"),
        (2, "like:600"),
    ]
    assert len(await store.groups_with_actor(9, 2)) == 2

    await store.erase_recipient(ADA)
    await store.erase_recipient(ADA)  # again: nothing changes
    assert await store.page(ADA, None, 10) == []
    assert await store.read_up_to(ADA) == 0
    assert not await store.has_actor(ADA, "like:500", 8)
    assert await store.groups_with_actor(9, 10) == [(2, "like:600")]
    assert await store.groups_with_actor(8, 10) == []
    await store.remove_actor(2, "like:600", 9)
    assert await store.groups_with_actor(9, 10) == []

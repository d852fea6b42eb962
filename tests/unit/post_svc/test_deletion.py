"""Deleting a post: gone for readers at once, the deletion finished by its event, and no
late event bringing the post back."""

from __future__ import annotations

import pytest
from photoshare.events.v1 import events_pb2
from photoshare.media.v1 import media_pb2

from common.errors import NotFound, PermissionDenied
from common.events.base import TOPIC_POSTS
from post_svc.events import PostServiceEventHandler
from post_svc.models import MediaSpec, PostState
from tests.fakes import decoded
from tests.unit.post_svc.conftest import PostWorld

AUTHOR, READER = 7, 8
MEDIA = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=4, height=3)


def deletions(world: PostWorld) -> list[events_pb2.PostDeleted]:
    return [
        e.post_deleted for _, e in decoded(world.log, TOPIC_POSTS) if e.HasField("post_deleted")
    ]


async def test_a_deleted_post_is_gone_for_every_reader_at_once(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR, at_ms=2_000)
    kept = await world.published(AUTHOR, at_ms=3_000)
    await world.engagement.like(post_id, READER)
    await world.deletion.delete(post_id, AUTHOR)

    for viewer in (AUTHOR, READER, None):
        with pytest.raises(NotFound):
            await world.posts.get(post_id, viewer)
    grid = await world.posts.user_posts(AUTHOR, 10, "")
    assert [p.id for p in grid.posts] == [kept]
    assert [p.id for p in await world.posts.batch_get([post_id, kept])] == [kept]
    seen = await world.engagement.seen([post_id, kept], READER)
    assert (seen[post_id].stats.deleted, seen[kept].stats.deleted) == (True, False)
    with pytest.raises(NotFound):
        await world.engagement.like(post_id, READER)
    with pytest.raises(NotFound):
        await world.engagement.likes_page(post_id, 10, "")
    [event] = deletions(world)
    assert (event.post_id, event.author_id) == (post_id, AUTHOR)
    assert event.published_at.ToMilliseconds() == 2_000
    with pytest.raises(NotFound):  # again: it is not there any more
        await world.deletion.delete(post_id, AUTHOR)


async def test_only_its_author_deletes_a_post_and_drafts_can_be_deleted(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR)
    draft, _ = await world.posts.create(AUTHOR, "never sent", MediaSpec("PHOTO", "image/jpeg", 9))
    with pytest.raises(PermissionDenied):
        await world.deletion.delete(post_id, READER)
    with pytest.raises(NotFound):  # someone else's draft does not exist for them
        await world.deletion.delete(draft.id, READER)
    assert (await world.posts.get(post_id, READER)).state is PostState.PUBLISHED
    await world.deletion.delete(draft.id, AUTHOR)
    assert world.uploads.closed == [draft.id]  # its upload URL answers 410 at once
    [event] = deletions(world)
    assert (event.post_id, event.HasField("published_at")) == (draft.id, False)
    await world.posts.mark_published(draft.id, MEDIA)  # its media arrives late: stays deleted
    with pytest.raises(NotFound):
        await world.posts.get(draft.id, AUTHOR)
    published = [e for _, e in decoded(world.log, TOPIC_POSTS) if e.HasField("post_published")]
    assert draft.id not in [e.post_published.post_id for e in published]


async def test_the_event_finishes_a_deletion_a_crash_cut_short(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR)
    await world.engagement.like(post_id, READER)
    await world.engagement.comment(post_id, READER, "before the deletion")
    # The crash came right after the event was sent: the post is not marked yet.
    await world.deletion._events.post_deleted(post_id, AUTHOR, 1_000)
    assert (await world.posts.get(post_id, READER)).id == post_id
    handler = PostServiceEventHandler(world.posts, world.engagement, world.authors, world.deletion)
    await world.log.drain(handler.group, handler.topics, handler)
    await world.log.drain(handler.group, handler.topics, handler)  # nothing left to do
    with pytest.raises(NotFound):
        await world.posts.get(post_id, AUTHOR)
    assert (await world.engagement.seen([post_id], READER))[post_id].stats.deleted
    assert await world.engagement_store.likes(post_id, None, 10) == []
    assert await world.engagement_store.comments(post_id, 0, 10) == []


async def test_a_deleted_post_cannot_be_edited_or_deleted_again(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR)
    await world.deletion.delete(post_id, AUTHOR)
    with pytest.raises(NotFound):
        await world.posts.edit(post_id, AUTHOR, "too late", ["caption"])
    with pytest.raises(NotFound):
        await world.deletion.delete(post_id, AUTHOR)
    assert len(deletions(world)) == 1  # the refused calls announced nothing

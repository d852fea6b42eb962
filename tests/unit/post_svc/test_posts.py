"""Post rules: what a new post may carry, how it is published, how grids are paged."""

from __future__ import annotations

import pytest
from photoshare.media.v1 import media_pb2

from common.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from common.events.base import TOPIC_POSTS
from post_svc.models import MediaSpec, PostState
from post_svc.posts import MAX_BATCH, MAX_CAPTION_CHARS
from tests.fakes import decoded
from tests.unit.post_svc.conftest import PostWorld

PHOTO = MediaSpec("PHOTO", "image/jpeg", 1234)
MEDIA = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=4, height=3)
AUTHOR = 7


async def published_post(world: PostWorld, at_ms: int, author: int = AUTHOR) -> int:
    post, _ = await world.posts.create(author, "", PHOTO)
    world.clock[0] = at_ms
    await world.posts.mark_published(post.id, MEDIA)
    return post.id


async def test_a_new_post_waits_for_its_media_with_an_upload_target(world: PostWorld) -> None:
    post, upload = await world.posts.create(AUTHOR, "sunset", PHOTO)
    assert upload.url == f"http://media/uploads/{post.id}"
    stored = await world.posts.get(post.id, AUTHOR)
    assert (stored.state, stored.caption, stored.created_at_ms) == (
        PostState.PENDING_MEDIA,
        "sunset",
        1_000,
    )
    assert world.log.published() == []  # nothing is announced before it is published


async def test_caption_and_media_are_checked_before_the_media_service_is_asked(
    world: PostWorld,
) -> None:
    with pytest.raises(InvalidArgument) as too_long:
        await world.posts.create(AUTHOR, "x" * (MAX_CAPTION_CHARS + 1), PHOTO)
    assert (too_long.value.reason, too_long.value.field) == ("CAPTION_TOO_LONG", "caption")
    with pytest.raises(InvalidArgument) as no_media:
        await world.posts.create(AUTHOR, "", None)
    assert no_media.value.field == "media"
    assert world.uploads.asked == []


async def test_a_refused_upload_slot_leaves_no_post_behind(world: PostWorld) -> None:
    with pytest.raises(InvalidArgument):
        await world.posts.create(AUTHOR, "", MediaSpec("VIDEO", "video/mp4", 10))
    (post_id,) = world.uploads.asked
    assert await world.store.get_many([post_id]) == {}


async def test_unknown_posts_are_not_found_and_batches_are_bounded(world: PostWorld) -> None:
    with pytest.raises(NotFound) as missing:
        await world.posts.get(404, AUTHOR)
    assert (missing.value.reason, missing.value.metadata) == ("POST_NOT_FOUND", {"postId": "404"})
    first = await published_post(world, 2_000)
    second = await published_post(world, 3_000)
    assert [p.id for p in await world.posts.batch_get([second, 404, first])] == [second, first]
    with pytest.raises(InvalidArgument):
        await world.posts.batch_get(list(range(MAX_BATCH + 1)))


async def test_publishing_announces_the_post_again_on_redelivery_with_its_first_time(
    world: PostWorld,
) -> None:
    post_id = await published_post(world, 2_000)
    world.clock[0] = 9_000
    await world.posts.mark_published(post_id, MEDIA)  # the media event, delivered twice
    announced = decoded(world.log, TOPIC_POSTS)
    assert [key for key, _ in announced] == [str(AUTHOR), str(AUTHOR)]
    for _, event in announced:
        assert event.post_published.post_id == post_id
        assert event.post_published.published_at.ToMilliseconds() == 2_000
    post = await world.posts.get(post_id, AUTHOR)
    assert (post.state, post.published_at_ms, post.media) == (PostState.PUBLISHED, 2_000, MEDIA)


async def test_a_failed_post_keeps_its_reason_and_is_never_announced(world: PostWorld) -> None:
    post, _ = await world.posts.create(AUTHOR, "", PHOTO)
    await world.posts.mark_failed(post.id, "the photo could not be decoded")
    await world.posts.mark_published(post.id, MEDIA)  # a late success does not revive it
    failed = await world.posts.get(post.id, AUTHOR)
    assert (failed.state, failed.failure_reason) == (
        PostState.FAILED,
        "the photo could not be decoded",
    )
    await world.posts.mark_published(404, MEDIA)  # unknown: nothing to do
    assert world.log.published() == []


async def test_fuller_media_replaces_a_published_posts_and_is_announced(world: PostWorld) -> None:
    pending, _ = await world.posts.create(AUTHOR, "", PHOTO)
    post_id = await published_post(world, 2_000)
    fuller = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=4, height=3)
    fuller.renditions.add(content_type="image/avif", url="http://cdn/media/a.avif")
    await world.posts.update_media(pending.id, fuller)  # not published: left alone
    await world.posts.update_media(post_id, fuller)
    assert (await world.posts.get(post_id, AUTHOR)).media == fuller
    assert (await world.posts.get(pending.id, AUTHOR)).media is None
    updates = [
        e.post_updated for _, e in decoded(world.log, TOPIC_POSTS) if e.HasField("post_updated")
    ]
    assert [(u.post_id, u.author_id) for u in updates] == [(post_id, AUTHOR)]


async def test_the_grid_pages_newest_first_without_repeats_and_checks_its_cursor(
    world: PostWorld,
) -> None:
    ids = [await published_post(world, 2_000 + i) for i in range(5)]
    await world.posts.create(AUTHOR, "", PHOTO)  # pending: not on the grid
    seen, cursor, pages = [], "", 0
    while True:
        page = await world.posts.user_posts(AUTHOR, 2, cursor)
        seen += [p.id for p in page.posts]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert (seen, pages) == (ids[::-1], 3)
    first = await world.posts.user_posts(AUTHOR, 2, "")
    assert first.next_cursor is not None
    with pytest.raises(InvalidArgument):
        await world.posts.user_posts(AUTHOR + 1, 2, first.next_cursor)  # another user's cursor
    with pytest.raises(InvalidArgument):
        await world.posts.user_posts(AUTHOR, 101, "")


async def test_recent_posts_of_many_authors_come_newest_first_up_to_the_limit(
    world: PostWorld,
) -> None:
    mine = [await published_post(world, 2_000 + i) for i in range(3)]
    theirs = await published_post(world, 1_500, author=8)
    newest = [
        p.id async for batch in world.posts.recent_by_authors([AUTHOR, 8], None, 3) for p in batch
    ]
    assert newest == mine[::-1]
    older = [
        p.id
        async for batch in world.posts.recent_by_authors([AUTHOR, 8], (2_000, mine[0]), 10)
        for p in batch
    ]
    assert older == [theirs]
    with pytest.raises(InvalidArgument):
        async for _ in world.posts.recent_by_authors([AUTHOR], None, 0):
            pass


async def test_a_draft_is_visible_to_its_author_only(world: PostWorld) -> None:
    pending, _ = await world.posts.create(AUTHOR, "not yet", PHOTO)
    failed, _ = await world.posts.create(AUTHOR, "never", PHOTO)
    await world.posts.mark_failed(failed.id, "the photo could not be decoded")
    for draft in (pending, failed):
        assert (await world.posts.get(draft.id, AUTHOR)).caption == draft.caption
        for stranger in (AUTHOR + 1, None):
            with pytest.raises(NotFound):
                await world.posts.get(draft.id, stranger)
    published = await published_post(world, 2_000)
    assert (await world.posts.get(published, None)).state is PostState.PUBLISHED


async def test_a_retried_post_with_its_request_id_is_the_same_post(world: PostWorld) -> None:
    post, upload = await world.posts.create(AUTHOR, "sunset", PHOTO, request_id="k1")
    again, upload_again = await world.posts.create(AUTHOR, "sunset", PHOTO, request_id="k1")
    assert (again.id, upload_again) == (post.id, upload)
    other, _ = await world.posts.create(AUTHOR + 1, "sunset", PHOTO, request_id="k1")
    assert other.id != post.id  # request ids are per author
    with pytest.raises(Conflict, match="another post"):
        await world.posts.create(AUTHOR, "a different caption", PHOTO, request_id="k1")
    assert [p.id for p in (await world.posts.user_posts(AUTHOR, 10, "")).posts] == []
    assert world.uploads.asked == [post.id, post.id, other.id]


async def test_its_author_edits_a_caption_and_readers_are_told(world: PostWorld) -> None:
    post_id = await published_post(world, 2_000)
    draft, _ = await world.posts.create(AUTHOR, "draft", PHOTO)
    edited = await world.posts.edit(post_id, AUTHOR, "sunset, edited", ["caption"])
    assert (edited.caption, edited.edited_at_ms) == ("sunset, edited", world.clock[0])
    assert (await world.posts.get(post_id, None)).caption == "sunset, edited"
    await world.posts.edit(draft.id, AUTHOR, "draft, edited", ["caption"])
    updates = [
        e.post_updated for _, e in decoded(world.log, TOPIC_POSTS) if e.HasField("post_updated")
    ]
    assert [u.post_id for u in updates] == [post_id]  # a draft is in nobody's feed yet


async def test_only_the_caption_of_ones_own_post_can_be_edited(world: PostWorld) -> None:
    post_id = await published_post(world, 2_000)
    draft, _ = await world.posts.create(AUTHOR, "draft", PHOTO)
    with pytest.raises(PermissionDenied):
        await world.posts.edit(post_id, 99, "mine now", ["caption"])
    with pytest.raises(NotFound):
        await world.posts.edit(draft.id, 99, "a draft is private", ["caption"])
    with pytest.raises(InvalidArgument, match="media never changes"):
        await world.posts.edit(post_id, AUTHOR, "", ["caption", "media"])
    with pytest.raises(InvalidArgument, match="at most"):
        await world.posts.edit(post_id, AUTHOR, "x" * (MAX_CAPTION_CHARS + 1), ["caption"])
    assert (await world.posts.get(post_id, None)).caption == ""

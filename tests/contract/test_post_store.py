"""PostStore contract."""

from __future__ import annotations

from photoshare.media.v1 import media_pb2

from post_svc.models import Post, PostState
from post_svc.storage.base import PostStore

MEDIA = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=10, height=20)


async def test_publish_moves_pending_once(post_store: PostStore) -> None:
    await post_store.insert(Post(1, 7, "hello", 100))
    published = await post_store.mark_published(1, MEDIA, 500)
    assert published is not None
    assert (published.state, published.published_at_ms, published.media) == (
        PostState.PUBLISHED,
        500,
        MEDIA,
    )
    again = await post_store.mark_published(1, MEDIA, 900)
    assert again is not None
    assert again.published_at_ms == 500  # redelivery keeps the first publish time
    assert await post_store.mark_failed(1, "late failure") == again
    assert await post_store.mark_published(404, MEDIA, 1) is None


async def test_published_media_can_gain_renditions(post_store: PostStore) -> None:
    await post_store.insert(Post(1, 7, "hello", 100))
    await post_store.insert(Post(2, 7, "pending", 100))
    await post_store.mark_published(1, MEDIA, 500)
    fuller = media_pb2.Media()
    fuller.CopyFrom(MEDIA)
    fuller.renditions.add(content_type="image/avif", url="http://cdn/media/x.avif")
    updated = await post_store.update_media(1, fuller)
    assert updated is not None
    assert updated.media == fuller
    assert updated.published_at_ms == 500
    [listed] = await post_store.published_by_authors([7], None, 10)
    assert listed.media == fuller  # the author's grid sees it too
    assert await post_store.update_media(2, fuller) is None  # not published: left alone
    assert await post_store.update_media(404, fuller) is None


async def test_fail_records_the_reason(post_store: PostStore) -> None:
    await post_store.insert(Post(1, 7, "", 100))
    failed = await post_store.mark_failed(1, "the photo could not be decoded")
    assert failed is not None
    assert (failed.state, failed.failure_reason) == (
        PostState.FAILED,
        "the photo could not be decoded",
    )
    assert (await post_store.get_many([1, 2])) == {1: failed}


async def test_published_by_authors_newest_first_before_a_key(post_store: PostStore) -> None:
    for post_id, author, published_at in (
        (1, 7, 10),
        (2, 8, 30),
        (3, 7, 20),
        (4, 9, 40),
        (5, 7, 30),
    ):
        await post_store.insert(Post(post_id, author, "", post_id))
        await post_store.mark_published(post_id, MEDIA, published_at)
    await post_store.insert(Post(6, 7, "", 6))  # pending: never listed
    found = await post_store.published_by_authors([7, 8], None, 10)
    assert [p.id for p in found] == [5, 2, 3, 1]
    assert [p.id for p in await post_store.published_by_authors([7, 8], (30, 5), 2)] == [2, 3]
    many = [*range(1000, 1500), 7]  # more authors than one statement takes
    assert [p.id for p in await post_store.published_by_authors(many, None, 10)] == [5, 3, 1]


async def test_a_creating_request_is_remembered_once_per_author(post_store: PostStore) -> None:
    assert await post_store.remember_request(7, "k1", 100, "fp-a") == (100, "fp-a")
    assert await post_store.remember_request(7, "k1", 101, "fp-b") == (100, "fp-a")
    assert await post_store.remember_request(8, "k1", 102, "fp-c") == (102, "fp-c")


async def test_inserting_the_same_post_again_changes_nothing(post_store: PostStore) -> None:
    post = Post(1, 7, "first", 1_000)
    await post_store.insert(post)
    await post_store.insert(post)  # a retried request
    assert await post_store.get_many([1]) == {1: post}


async def test_a_caption_is_edited_in_any_state_and_in_the_grid(post_store: PostStore) -> None:
    await post_store.insert(Post(1, 7, "helo", 100))
    await post_store.insert(Post(2, 7, "draft", 100))
    await post_store.mark_published(1, MEDIA, 500)
    edited = await post_store.update_caption(1, "hello", 900)
    assert edited is not None
    assert (edited.caption, edited.edited_at_ms, edited.published_at_ms) == ("hello", 900, 500)
    assert edited.media == MEDIA
    [listed] = await post_store.published_by_authors([7], None, 10)
    assert (listed.caption, listed.edited_at_ms) == ("hello", 900)  # the grid's copy too
    draft = await post_store.update_caption(2, "still a draft", 950)
    assert draft is not None
    assert (draft.state, draft.caption) == (PostState.PENDING_MEDIA, "still a draft")
    assert await post_store.update_caption(404, "nobody's", 1) is None
    assert (await post_store.get_many([1]))[1] == edited


async def test_a_deleted_post_is_a_tombstone_out_of_the_grid(post_store: PostStore) -> None:
    await post_store.insert(Post(1, 7, "regret", 100))
    await post_store.insert(Post(2, 7, "kept", 100))
    await post_store.insert(Post(3, 7, "never uploaded", 100))
    await post_store.mark_published(1, MEDIA, 500)
    await post_store.mark_published(2, MEDIA, 600)
    deleted = await post_store.mark_deleted(1)
    assert deleted is not None
    assert (deleted.state, deleted.published_at_ms) == (PostState.DELETED, 500)
    assert [p.id for p in await post_store.published_by_authors([7], None, 10)] == [2]
    assert await post_store.mark_deleted(1) == deleted  # again: the same
    draft = await post_store.mark_deleted(3)
    assert draft is not None
    assert draft.state is PostState.DELETED
    # Late events cannot bring either back.
    assert (await post_store.mark_published(3, MEDIA, 700)) == draft
    assert await post_store.update_media(1, MEDIA) is None
    assert await post_store.mark_failed(3, "late") == draft
    assert [p.id for p in await post_store.published_by_authors([7], None, 10)] == [2]
    assert await post_store.mark_deleted(404) is None


async def test_an_authors_posts_are_found_in_any_state_and_forgotten_once_deleted(
    post_store: PostStore,
) -> None:
    for post_id in (1, 2, 3, 4):
        await post_store.insert(Post(post_id, 7, f"caption {post_id}", 100))
    await post_store.insert(Post(5, 8, "someone else's", 100))
    await post_store.mark_published(1, MEDIA, 500)
    await post_store.mark_failed(2, "broken file")
    await post_store.mark_deleted(3)
    assert [p.id for p in await post_store.of_author(7, 10)] == [1, 2, 3, 4]
    assert [p.id for p in await post_store.of_author(7, 2)] == [1, 2]

    await post_store.forget(1)  # not deleted: left alone
    for post_id in (1, 2, 3, 4):
        await post_store.mark_deleted(post_id)
        await post_store.forget(post_id)
        await post_store.forget(post_id)  # again: the same
    assert await post_store.of_author(7, 10) == []
    tombstones = await post_store.get_many([1, 2, 3, 4])
    assert {(p.author_id, p.caption, p.media, p.state) for p in tombstones.values()} == {
        (0, "", None, PostState.DELETED)
    }
    # Late events cannot bring a forgotten post back either.
    assert (await post_store.mark_published(4, MEDIA, 700)) == tombstones[4]
    assert await post_store.update_media(1, MEDIA) is None
    assert [p.id for p in await post_store.published_by_authors([7], None, 10)] == []
    assert [p.id for p in await post_store.of_author(8, 10)] == [5]


async def test_an_authors_remembered_requests_are_forgotten(post_store: PostStore) -> None:
    assert await post_store.remember_request(7, "r1", 1, "f1") == (1, "f1")
    await post_store.remember_request(8, "r1", 2, "f2")
    await post_store.forget_requests(7)
    assert await post_store.remember_request(7, "r1", 3, "f3") == (3, "f3")  # a new request
    assert await post_store.remember_request(8, "r1", 4, "f4") == (2, "f2")

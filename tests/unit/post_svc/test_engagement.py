"""Likes and comments: who may do what, pages, and counts that stay exact."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from common.errors import InvalidArgument, NotFound, PermissionDenied
from common.events.base import TOPIC_ENGAGEMENT
from post_svc.engagement import MAX_COMMENT_CHARS, comment_event_id
from post_svc.events import EngagementEventPublisher, PostServiceEventHandler
from post_svc.models import Comment, MediaSpec, PostStats
from tests.fakes import decoded
from tests.unit.post_svc.conftest import PostWorld

AUTHOR, ADA, BOB = 7, 21, 22


async def counts(world: PostWorld, post_id: int) -> PostStats:
    return (await world.stats.get_many([post_id]))[post_id]


async def test_a_like_counts_once_however_often_it_is_sent(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR)
    first = await world.engagement.like(post_id, ADA)
    again = await world.engagement.like(post_id, ADA)
    assert (first.stats.likes, first.liked_by_viewer) == (1, True)
    assert again.stats.likes == 1
    assert (await world.engagement.like(post_id, BOB)).stats.likes == 2
    sent = [e.like_created for _, e in decoded(world.log, TOPIC_ENGAGEMENT)]
    assert [(e.user_id, e.post_author_id) for e in sent] == [(ADA, AUTHOR)] * 2 + [(BOB, AUTHOR)]
    ids = [e.event_id for _, e in decoded(world.log, TOPIC_ENGAGEMENT)]
    assert ids[0] == ids[1]  # the repeat is the same event: consumers count it once


async def test_unlike_takes_back_only_an_existing_like(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR)
    assert (await world.engagement.unlike(post_id, ADA)).stats.likes == 0  # none: no-op
    await world.engagement.like(post_id, ADA)
    gone = await world.engagement.unlike(post_id, ADA)
    assert (gone.stats.likes, gone.liked_by_viewer) == (0, False)
    assert await world.engagement_store.get_like(post_id, ADA) is None
    assert (await world.engagement.unlike(post_id, ADA)).stats.likes == 0
    kinds = [e.WhichOneof("payload") for _, e in decoded(world.log, TOPIC_ENGAGEMENT)]
    assert kinds == ["like_created", "like_removed"]


async def test_only_published_posts_take_likes_and_comments(world: PostWorld) -> None:
    pending, _ = await world.posts.create(AUTHOR, "", MediaSpec("PHOTO", "image/jpeg", 10))
    for post_id in (pending.id, 404):
        with pytest.raises(NotFound):
            await world.engagement.like(post_id, ADA)
        with pytest.raises(NotFound):
            await world.engagement.comment(post_id, ADA, "nice")
        with pytest.raises(NotFound):
            await world.engagement.comments_page(post_id, 0, "")


async def test_the_viewers_likes_and_counts_come_with_a_page_of_posts(world: PostWorld) -> None:
    liked, other = await world.published(AUTHOR), await world.published(AUTHOR)
    await world.engagement.like(liked, ADA)
    await world.engagement.comment(other, BOB, "hi")
    posts = list((await world.store.get_many([liked, other])).values())
    seen = await world.engagement.seen_by(posts, ADA)
    assert (seen[liked].stats, seen[liked].liked_by_viewer) == (PostStats(1, 0), True)
    assert (seen[other].stats, seen[other].liked_by_viewer) == (PostStats(0, 1), False)
    anonymous = await world.engagement.seen_by(posts, None)
    assert not anonymous[liked].liked_by_viewer


async def test_the_viewers_likes_are_remembered_and_their_own_changes_read_at_once(
    world: PostWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = await world.published(AUTHOR), await world.published(AUTHOR)
    asked: list[list[int]] = []
    store_liked_among = world.engagement_store.liked_among

    async def liked_among(user_id: int, post_ids: Sequence[int]) -> set[int]:
        asked.append(list(post_ids))
        return await store_liked_among(user_id, post_ids)

    monkeypatch.setattr(world.engagement_store, "liked_among", liked_among)

    async def liked(viewer: int) -> dict[int, bool]:
        seen = await world.engagement.seen([first, second], viewer)
        return {post_id: engaged.liked_by_viewer for post_id, engaged in seen.items()}

    assert await liked(ADA) == {first: False, second: False}
    assert await liked(ADA) == {first: False, second: False}
    assert asked == [[first, second]]  # the second page came from the cache
    await world.engagement.like(first, ADA)
    assert await liked(ADA) == {first: True, second: False}  # at once, though cached before
    await world.engagement.unlike(first, ADA)
    assert await liked(ADA) == {first: False, second: False}
    assert await liked(BOB) == {first: False, second: False}


async def test_likers_page_newest_first_with_tokens_bound_to_the_list(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR)
    for at_ms, user in ((2_000, 30), (3_000, 31), (4_000, 32)):
        world.clock[0] = at_ms
        await world.engagement.like(post_id, user)
    first = await world.engagement.likes_page(post_id, 2, "")
    assert [like.user_id for like in first.likes] == [32, 31]
    assert first.next_page_token is not None
    rest = await world.engagement.likes_page(post_id, 2, first.next_page_token)
    assert ([like.user_id for like in rest.likes], rest.next_page_token) == ([30], None)
    with pytest.raises(InvalidArgument):  # the likes' token cannot page the comments
        await world.engagement.comments_page(post_id, 2, first.next_page_token)
    other = await world.published(AUTHOR)
    with pytest.raises(InvalidArgument):  # nor another post's likes
        await world.engagement.likes_page(other, 2, first.next_page_token)


async def test_comment_text_is_trimmed_and_bounded(world: PostWorld) -> None:
    post_id = await world.published(AUTHOR)
    comment = await world.engagement.comment(post_id, ADA, "  so good \n")
    assert (comment.text, comment.author_id, comment.post_id) == ("so good", ADA, post_id)
    for text, reason in (
        ("   ", "EMPTY_COMMENT"),
        ("x" * (MAX_COMMENT_CHARS + 1), "COMMENT_TOO_LONG"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            await world.engagement.comment(post_id, ADA, text)
        assert (refused.value.reason, refused.value.field) == (reason, "text")
    assert (await counts(world, post_id)).comments == 1


async def test_comment_pages_neither_repeat_nor_skip_while_others_comment(
    world: PostWorld,
) -> None:
    post_id = await world.published(AUTHOR)
    written = [(await world.engagement.comment(post_id, ADA, f"c{i}")).id for i in range(5)]
    seen, token = [], ""
    while True:
        page = await world.engagement.comments_page(post_id, 2, token)
        seen += [c.id for c in page.comments]
        written.append((await world.engagement.comment(post_id, BOB, "meanwhile")).id)
        if page.next_page_token is None or len(seen) > 20:
            break
        token = page.next_page_token
    assert seen == written[: len(seen)]  # oldest first, each once, new ones at the end
    assert len(seen) == len(set(seen))


async def test_a_comment_is_deleted_by_its_author_or_the_posts_author_only(
    world: PostWorld,
) -> None:
    post_id = await world.published(AUTHOR)
    mine = await world.engagement.comment(post_id, ADA, "mine")
    theirs = await world.engagement.comment(post_id, BOB, "theirs")
    with pytest.raises(PermissionDenied):
        await world.engagement.delete_comment(post_id, theirs.id, ADA)
    await world.engagement.delete_comment(post_id, mine.id, ADA)
    await world.engagement.delete_comment(post_id, theirs.id, AUTHOR)
    assert (await counts(world, post_id)).comments == 0
    with pytest.raises(NotFound):  # gone, and a comment id of another post is not found
        await world.engagement.delete_comment(post_id, mine.id, ADA)
    other = await world.published(AUTHOR)
    kept = await world.engagement.comment(other, ADA, "here")
    with pytest.raises(NotFound):
        await world.engagement.delete_comment(post_id, kept.id, ADA)


async def test_the_consumer_finishes_what_a_crash_cut_short_and_counts_nothing_twice(
    world: PostWorld,
) -> None:
    post_id = await world.published(AUTHOR)
    await world.engagement.like(post_id, ADA)
    await world.engagement.unlike(post_id, ADA)
    deleted = await world.engagement.comment(post_id, BOB, "gone")
    await world.engagement.delete_comment(post_id, deleted.id, BOB)
    # A crash right after a comment's event was sent: only the event is left.
    cut_short = Comment(world.engagement_ids.next_id(), post_id, BOB, "hello", 5_000)
    await EngagementEventPublisher(world.log).comment_created(
        comment_event_id(cut_short), cut_short, AUTHOR
    )
    handler = PostServiceEventHandler(world.posts, world.engagement, world.authors, world.deletion)
    # The post's PostPublished (its own topic, nothing to do) and the five engagement events.
    assert await world.log.drain(handler.group, handler.topics, handler) == 6
    assert await counts(world, post_id) == PostStats(0, 1)
    assert await world.engagement_store.get_comment(post_id, cut_short.id) == cut_short
    assert await world.engagement_store.get_comment(post_id, deleted.id) is None  # stays gone
    assert await world.engagement_store.get_like(post_id, ADA) is None

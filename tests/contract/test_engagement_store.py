"""EngagementStore contract: one like per user and post, point lookups, pages, comments."""

from __future__ import annotations

import asyncio

from post_svc.models import Comment, Like
from post_svc.storage.base import EngagementStore


async def test_concurrent_likes_of_one_user_agree_on_one(
    engagement_store: EngagementStore,
) -> None:
    likes = await asyncio.gather(*(engagement_store.add_like(1, 7, 100 + i) for i in range(5)))
    assert len(set(likes)) == 1
    assert await engagement_store.get_like(1, 7) == likes[0]
    assert await engagement_store.add_like(1, 7, 999) == likes[0]  # later: the same like
    assert await engagement_store.likes(1, None, 10) == [likes[0]]


async def test_point_lookups_for_a_page_and_removal_of_exactly_one_like(
    engagement_store: EngagementStore,
) -> None:
    for post_id in (1, 2, 3):
        await engagement_store.add_like(post_id, 8, 50)
    await engagement_store.add_like(2, 9, 60)
    assert await engagement_store.liked_among(8, [1, 3, 4, 3]) == {1, 3}
    assert await engagement_store.liked_among(9, [1, 2]) == {2}
    assert await engagement_store.liked_among(9, []) == set()
    await engagement_store.remove_like(Like(1, 8, 49))  # another like's time: not this one
    assert await engagement_store.get_like(1, 8) == Like(1, 8, 50)
    await engagement_store.remove_like(Like(1, 8, 50))
    await engagement_store.remove_like(Like(1, 8, 50))
    assert await engagement_store.get_like(1, 8) is None
    assert await engagement_store.likes(1, None, 10) == []


async def test_likers_page_newest_first(engagement_store: EngagementStore) -> None:
    for at_ms, user in ((10, 1), (30, 2), (20, 3), (30, 4)):
        await engagement_store.add_like(5, user, at_ms)
    first = await engagement_store.likes(5, None, 3)
    assert [like.user_id for like in first] == [4, 2, 3]
    rest = await engagement_store.likes(5, first[-1].sort_key, 3)
    assert [like.user_id for like in rest] == [1]


async def test_comments_page_oldest_first_and_go_once(engagement_store: EngagementStore) -> None:
    comments = [Comment(100 + i, 5, 7, f"c{i}", 1_000 + i) for i in range(4)]
    for comment in (*comments, comments[0]):  # stored twice: still one
        await engagement_store.add_comment(comment)
    await engagement_store.add_comment(Comment(500, 6, 7, "another post", 1))
    assert await engagement_store.comments(5, 0, 3) == comments[:3]
    assert await engagement_store.comments(5, 102, 3) == comments[3:]
    assert await engagement_store.get_comment(5, 101) == comments[1]
    assert await engagement_store.get_comment(6, 101) is None  # not that post's
    await engagement_store.delete_comment(5, 101)
    await engagement_store.delete_comment(5, 101)
    assert await engagement_store.get_comment(5, 101) is None
    assert [c.id for c in await engagement_store.comments(5, 0, 10)] == [100, 102, 103]


async def test_a_deleted_posts_likes_and_comments_all_go(engagement_store: EngagementStore) -> None:
    for user_id in (7, 8, 9):
        await engagement_store.add_like(1, user_id, 100 + user_id)
    await engagement_store.add_like(2, 7, 100)  # another post's
    for comment_id in (10, 11):
        await engagement_store.add_comment(Comment(comment_id, 1, 7, "hi", 200))
    await engagement_store.add_comment(Comment(12, 2, 7, "kept", 200))
    await engagement_store.delete_post(1)
    await engagement_store.delete_post(1)  # again: nothing changes
    assert await engagement_store.likes(1, None, 10) == []
    assert await engagement_store.get_like(1, 8) is None
    assert await engagement_store.liked_among(7, [1, 2]) == {2}
    assert await engagement_store.comments(1, 0, 10) == []
    assert [c.id for c in await engagement_store.comments(2, 0, 10)] == [12]


async def test_a_users_likes_and_comments_are_found_on_every_post_until_they_go(
    engagement_store: EngagementStore,
) -> None:
    for post_id in (3, 1, 2):
        await engagement_store.add_like(post_id, 8, 50 + post_id)
    await engagement_store.add_like(1, 9, 70)
    comments = [Comment(10 + i, post_id, 8, f"c{i}", 100 + i) for i, post_id in enumerate((1, 2))]
    for comment in comments:
        await engagement_store.add_comment(comment)
    await engagement_store.add_comment(Comment(20, 1, 9, "theirs", 200))
    assert await engagement_store.likes_of_user(8, 2) == [Like(1, 8, 51), Like(2, 8, 52)]
    assert await engagement_store.comments_of_author(8, 5) == comments

    await engagement_store.remove_like(Like(1, 8, 51))
    await engagement_store.delete_comment(1, 10)
    await engagement_store.delete_post(2)  # its likes and comments go with it
    assert await engagement_store.likes_of_user(8, 5) == [Like(3, 8, 53)]
    assert await engagement_store.comments_of_author(8, 5) == []
    await engagement_store.add_like(1, 8, 90)  # liked again: found again
    assert await engagement_store.likes_of_user(8, 5) == [Like(1, 8, 90), Like(3, 8, 53)]
    assert await engagement_store.likes_of_user(9, 5) == [Like(1, 9, 70)]

"""PostService's translation: proto in, domain call, proto out."""

from __future__ import annotations

import pytest
from photoshare.media.v1 import media_pb2
from photoshare.post.v1 import post_internal_service_pb2 as ipb
from photoshare.post.v1 import post_service_pb2 as pb

from common.errors import Unauthenticated
from post_svc.service import PostServicer
from tests.fakes import context_of
from tests.unit.post_svc.conftest import PostWorld

AUTHOR = 7


def create_request(caption: str = "sunset") -> pb.CreatePostRequest:
    return pb.CreatePostRequest(
        caption=caption,
        media=pb.MediaSpec(
            type=media_pb2.MEDIA_TYPE_PHOTO, content_type="image/jpeg", size_bytes=1234
        ),
    )


async def test_create_post_is_the_callers_and_answers_the_upload_target(
    world: PostWorld,
) -> None:
    servicer = PostServicer(world.posts, world.engagement, world.authors, world.deletion)
    response = await servicer.CreatePost(create_request(), context_of(AUTHOR))
    post = response.post
    assert (post.author_id, post.caption, post.state) == (
        AUTHOR,
        "sunset",
        pb.POST_STATE_PENDING_MEDIA,
    )
    assert post.created_at.ToMilliseconds() == 1_000
    assert not post.HasField("published_at")
    assert (response.upload.url, response.upload.method) == (
        f"http://media/uploads/{post.id}",
        "PUT",
    )
    assert response.upload.expires_at.ToMilliseconds() == 99_000
    with pytest.raises(Unauthenticated):
        await servicer.CreatePost(create_request(), context_of())


async def test_published_posts_carry_state_time_and_media(world: PostWorld) -> None:
    servicer = PostServicer(world.posts, world.engagement, world.authors, world.deletion)
    created = await servicer.CreatePost(create_request(), context_of(AUTHOR))
    media = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=4, height=3)
    world.clock[0] = 2_000
    await world.posts.mark_published(created.post.id, media)
    got = (await servicer.GetPost(pb.GetPostRequest(id=created.post.id), context_of(1))).post
    assert (got.state, got.published_at.ToMilliseconds(), got.media) == (
        pb.POST_STATE_PUBLISHED,
        2_000,
        media,
    )
    grid = await servicer.ListUserPosts(
        pb.ListUserPostsRequest(user_id=AUTHOR, limit=10), context_of(1)
    )
    assert ([p.id for p in grid.posts], grid.next_cursor) == ([created.post.id], "")
    batch = await servicer.BatchGetPosts(
        ipb.BatchGetPostsRequest(ids=[created.post.id, 404]), context_of()
    )
    assert [p.id for p in batch.posts] == [created.post.id]


async def test_stream_recent_posts_honours_before_and_limit(world: PostWorld) -> None:
    servicer = PostServicer(world.posts, world.engagement, world.authors, world.deletion)
    ids = []
    for at_ms in (2_000, 3_000, 4_000):
        created = await servicer.CreatePost(create_request(), context_of(AUTHOR))
        world.clock[0] = at_ms
        await world.posts.mark_published(created.post.id, media_pb2.Media())
        ids.append(created.post.id)
    request = ipb.StreamRecentPostsRequest(author_ids=[AUTHOR], limit=1)
    request.before.published_at_ms, request.before.post_id = 4_000, ids[2]
    streamed = [
        p.id
        async for response in servicer.StreamRecentPosts(request, context_of())
        for p in response.posts
    ]
    assert streamed == [ids[1]]


async def test_every_post_like_and_comment_carries_its_author_from_one_call_per_page(
    world: PostWorld,
) -> None:
    servicer = PostServicer(world.posts, world.engagement, world.authors, world.deletion)
    post_ids = [await world.published(author) for author in (7, 8, 7, 9)]
    for liker in (3, 4, 5):
        await world.engagement.like(post_ids[0], liker)
        await world.engagement.comment(post_ids[0], liker, f"from {liker}")
    world.directory.calls.clear()
    grid = await servicer.ListUserPosts(pb.ListUserPostsRequest(user_id=7), context_of(1))
    assert [p.author.username for p in grid.posts] == ["user7", "user7"]
    likes = await servicer.ListLikes(pb.ListLikesRequest(post_id=post_ids[0]), context_of(1))
    assert [like.user.username for like in likes.likes] == ["user5", "user4", "user3"]
    comments = await servicer.ListComments(
        pb.ListCommentsRequest(post_id=post_ids[0]), context_of(1)
    )
    assert [c.author.username for c in comments.comments] == ["user3", "user4", "user5"]
    # One graph call for the grid's author, one for the likers; the commenters were cached.
    assert world.directory.calls == [[7], [5, 4, 3]]
    hydrated = await servicer.HydratePosts(
        ipb.HydratePostsRequest(post_ids=post_ids, author_ids=[7, 8, 9, 4040]), context_of(3)
    )
    assert [e.like_count for e in hydrated.engagements] == [3, 0, 0, 0]
    assert [e.liked_by_viewer for e in hydrated.engagements] == [True, False, False, False]
    assert sorted(a.id for a in hydrated.authors) == [7, 8, 9]  # 4040 is no user
    assert world.directory.calls[-1] == [8, 9, 4040]

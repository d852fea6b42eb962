"""post_svc's media event handler and post event publisher, through an event log."""

from __future__ import annotations

from photoshare.events.v1 import events_pb2
from photoshare.media.v1 import media_pb2

from common.events.base import (
    TOPIC_ENGAGEMENT,
    TOPIC_FOLLOWS,
    TOPIC_MEDIA,
    TOPIC_POSTS,
    TOPIC_USERS,
)
from common.events.codec import publish_event
from post_svc.events import PostServiceEventHandler
from post_svc.models import MediaSpec, PostState
from tests.fakes import decoded
from tests.unit.post_svc.conftest import PostWorld

MEDIA = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=4, height=3)
AUTHOR = 7


async def deliver(world: PostWorld, event: events_pb2.Event) -> int:
    await publish_event(world.log, event)
    handler = PostServiceEventHandler(world.posts, world.engagement, world.authors, world.deletion)
    return await world.log.drain(handler.group, handler.topics, handler)


async def pending_post(world: PostWorld) -> int:
    post, _ = await world.posts.create(AUTHOR, "", MediaSpec("PHOTO", "image/jpeg", 10))
    return post.id


async def test_media_processed_publishes_the_post_and_announces_it(world: PostWorld) -> None:
    post_id = await pending_post(world)
    processed = events_pb2.MediaProcessed(post_id=post_id, author_id=AUTHOR, media=MEDIA)
    # MediaProcessed, then the PostPublished it caused (post_svc reads its own topic too).
    assert await deliver(world, events_pb2.Event(media_processed=processed)) == 2
    assert (await world.posts.get(post_id, AUTHOR)).state is PostState.PUBLISHED
    ((key, event),) = decoded(world.log, TOPIC_POSTS)
    assert key == str(AUTHOR)  # one author's posts stay in order
    assert (event.post_published.post_id, event.post_published.author_id) == (post_id, AUTHOR)
    assert event.event_id
    assert event.HasField("occurred_at")


async def test_media_failed_fails_the_post_with_the_reason(world: PostWorld) -> None:
    post_id = await pending_post(world)
    failed = events_pb2.MediaFailed(post_id=post_id, author_id=AUTHOR, reason="not a photo")
    await deliver(world, events_pb2.Event(media_failed=failed))
    post = await world.posts.get(post_id, AUTHOR)
    assert (post.state, post.failure_reason) == (PostState.FAILED, "not a photo")
    assert decoded(world.log, TOPIC_POSTS) == []


async def test_media_updated_replaces_the_media_and_announces_the_change(
    world: PostWorld,
) -> None:
    post_id = await pending_post(world)
    await world.posts.mark_published(post_id, MEDIA)
    fuller = media_pb2.Media(type=media_pb2.MEDIA_TYPE_PHOTO, width=4, height=3)
    fuller.renditions.add(content_type="image/avif", url="http://cdn/media/a.avif")
    updated = events_pb2.MediaUpdated(post_id=post_id, author_id=AUTHOR, media=fuller)
    await deliver(world, events_pb2.Event(media_updated=updated))
    assert (await world.posts.get(post_id, AUTHOR)).media == fuller
    kinds = [event.WhichOneof("payload") for _, event in decoded(world.log, TOPIC_POSTS)]
    assert kinds == ["post_published", "post_updated"]


async def test_only_media_engagement_user_and_post_events_are_consumed(
    world: PostWorld,
) -> None:
    handler = PostServiceEventHandler(world.posts, world.engagement, world.authors, world.deletion)
    assert (handler.group, tuple(handler.topics)) == (
        "posts",
        (TOPIC_MEDIA, TOPIC_ENGAGEMENT, TOPIC_USERS, TOPIC_POSTS),
    )
    await world.log.publish(TOPIC_FOLLOWS, "1", b"not for post_svc")
    assert await world.log.drain(handler.group, handler.topics, handler) == 0


async def test_a_profile_update_drops_the_cached_author_summary(world: PostWorld) -> None:
    assert (await world.authors.summaries([AUTHOR]))[AUTHOR].display_name == ""
    world.directory.display_names[AUTHOR] = "Ada"
    assert (await world.authors.summaries([AUTHOR]))[AUTHOR].display_name == ""  # cached
    updated = events_pb2.ProfileUpdated(user_id=AUTHOR, display_name="Ada")
    await deliver(world, events_pb2.Event(profile_updated=updated))
    assert (await world.authors.summaries([AUTHOR]))[AUTHOR].display_name == "Ada"

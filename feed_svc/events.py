"""The events feed_svc consumes; it emits none.

- `PostPublished` (posts): fan the post out to the author's followers' timelines.
- `PostUpdated` (posts): refresh the cached copy used to hydrate feeds.
- `FollowChanged` (follows): backfill a new followee's posts, or drop an old one's.
"""

from __future__ import annotations

from common.events.base import TOPIC_FOLLOWS, TOPIC_POSTS, EventRecord
from common.events.codec import decode
from feed_svc.caching import CachedPosts
from feed_svc.fanout import Fanout
from feed_svc.models import FeedEntry


class FeedEventHandler:
    """Dispatches each consumed event to the fan-out or the hydration cache.

    Example:
        handler = FeedEventHandler(fanout, cached_posts)
        workers = (consumer(event_log, handler),)
    """

    group = "feed"
    topics = (TOPIC_POSTS, TOPIC_FOLLOWS)

    def __init__(self, fanout: Fanout, posts: CachedPosts) -> None:
        self._fanout = fanout
        self._posts = posts

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        match event.WhichOneof("payload"):
            case "post_published":
                published = event.post_published
                entry = FeedEntry(
                    published.published_at.ToMilliseconds(), published.post_id, published.author_id
                )
                await self._fanout.post_published(entry)
            case "post_updated":
                await self._posts.refresh([event.post_updated.post_id])
            case "follow_changed":
                change = event.follow_changed
                if change.following:
                    await self._fanout.followed(change.follower_id, change.followed_id)
                else:
                    await self._fanout.unfollowed(change.follower_id, change.followed_id)

"""Where feed_svc keeps home and author timelines, its hydration cache and notifications."""

from __future__ import annotations

from common.backends import cassandra_config, redis_client
from common.settings import Settings
from feed_svc.storage.base import (
    NotificationStore,
    PostCache,
    PulledAuthorStore,
    TimelineStore,
)


def make_timeline_store(settings: Settings, *, kind: str = "tl") -> TimelineStore:
    """Home timelines (`kind` "tl"), or the author timelines of celebrities ("atl"): the
    same store, each kind under its own keys."""
    if settings.production:
        from feed_svc.storage.redis import RedisTimelineStore

        return RedisTimelineStore(
            redis_client(settings, "timelines" if kind == "tl" else "author timelines"),
            max_len=settings.timeline_max_len,
            ttl_s=settings.timeline_ttl_s,
            prefix=settings.redis_prefix,
            kind=kind,
        )
    from feed_svc.storage.memory import InMemoryTimelineStore

    return InMemoryTimelineStore(
        max_len=settings.timeline_max_len, max_timelines=settings.timeline_cache_users
    )


def make_pulled_authors(settings: Settings) -> PulledAuthorStore:
    """Beside the timelines, in the same store (they may only be lost together)."""
    if settings.production:
        from feed_svc.storage.redis_pulled import RedisPulledAuthors

        return RedisPulledAuthors(redis_client(settings, "timelines"), prefix=settings.redis_prefix)
    from feed_svc.storage.memory_pulled import InMemoryPulledAuthors

    return InMemoryPulledAuthors()


def make_post_cache(settings: Settings) -> PostCache:
    if settings.production:
        from feed_svc.storage.redis_cache import RedisPostCache

        return RedisPostCache(redis_client(settings, "posts"), prefix=settings.redis_prefix)
    from feed_svc.storage.memory_cache import InMemoryPostCache

    return InMemoryPostCache()


def make_notification_store(settings: Settings) -> NotificationStore:
    if settings.production:
        from feed_svc.storage.cassandra_notifications import CassandraNotificationStore

        return CassandraNotificationStore(cassandra_config(settings))
    from feed_svc.storage.sqlite_notifications import SqliteNotificationStore

    return SqliteNotificationStore(settings.data_dir / "notifications.db")

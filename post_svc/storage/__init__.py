"""Where post_svc keeps posts, likes and comments, their counts, and its authors cache."""

from __future__ import annotations

from common.backends import cassandra_config, redis_client
from common.settings import Settings
from post_svc.storage.base import (
    AuthorCache,
    EngagementStore,
    LikedCache,
    PostStore,
    StatsStore,
)


def make_post_store(settings: Settings) -> PostStore:
    if settings.production:
        from post_svc.storage.cassandra import CassandraPostStore

        return CassandraPostStore(cassandra_config(settings))
    from post_svc.storage.sqlite import SqlitePostStore

    return SqlitePostStore(settings.data_dir / "posts.db")


def make_engagement_store(settings: Settings) -> EngagementStore:
    if settings.production:
        from post_svc.storage.cassandra_engagement import CassandraEngagementStore

        return CassandraEngagementStore(cassandra_config(settings))
    from post_svc.storage.sqlite_engagement import SqliteEngagementStore

    return SqliteEngagementStore(settings.data_dir / "engagement.db")


def make_stats_store(settings: Settings) -> StatsStore:
    if settings.production:
        from post_svc.storage.redis_stats import RedisStatsStore

        return RedisStatsStore(
            cassandra_config(settings),
            redis_client(settings, "counts"),
            prefix=settings.redis_prefix,
        )
    from post_svc.storage.sqlite_stats import SqliteStatsStore

    return SqliteStatsStore(settings.data_dir / "stats.db")


def make_author_cache(settings: Settings) -> AuthorCache:
    if settings.production:
        from post_svc.storage.redis_authors import RedisAuthorCache

        return RedisAuthorCache(redis_client(settings, "authors"), prefix=settings.redis_prefix)
    from post_svc.storage.memory_authors import InMemoryAuthorCache

    return InMemoryAuthorCache()


def make_liked_cache(settings: Settings) -> LikedCache:
    if settings.production:
        from post_svc.storage.redis_liked import RedisLikedCache

        return RedisLikedCache(redis_client(settings, "likes"), prefix=settings.redis_prefix)
    from post_svc.storage.memory_liked import InMemoryLikedCache

    return InMemoryLikedCache()

"""Where graph_svc keeps users, tokens, follows and counters, and caches following sets."""

from __future__ import annotations

from common.backends import cassandra_config, redis_client
from common.settings import Settings
from graph_svc.storage.base import FollowingCache, GraphStore


def make_graph_store(settings: Settings) -> GraphStore:
    if settings.production:
        from graph_svc.storage.cassandra import CassandraGraphStore

        return CassandraGraphStore(cassandra_config(settings))
    from graph_svc.storage.sqlite import SqliteGraphStore

    return SqliteGraphStore(settings.data_dir / "graph.db")


def make_following_cache(settings: Settings) -> FollowingCache:
    if settings.production:
        from graph_svc.storage.redis_cache import RedisFollowingCache

        return RedisFollowingCache(
            redis_client(settings, "following"), prefix=settings.redis_prefix
        )
    from graph_svc.storage.memory_cache import InMemoryFollowingCache

    return InMemoryFollowingCache()

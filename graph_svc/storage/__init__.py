"""Where graph_svc keeps users, sessions, follows and counters, and caches following sets."""

from __future__ import annotations

from common.backends import cassandra_config, redis_client
from common.settings import Settings
from graph_svc.storage.base import FollowingCache, GraphStore, SessionStore


def make_graph_store(settings: Settings) -> GraphStore:
    if settings.production:
        from graph_svc.storage.cassandra import CassandraGraphStore

        return CassandraGraphStore(cassandra_config(settings))
    from graph_svc.storage.sqlite import SqliteGraphStore

    return SqliteGraphStore(settings.data_dir / "graph.db")


def make_session_store(settings: Settings) -> SessionStore:
    if settings.production:
        from graph_svc.storage.cassandra_sessions import CassandraSessionStore

        return CassandraSessionStore(cassandra_config(settings))
    from graph_svc.storage.sqlite_sessions import SqliteSessionStore

    return SqliteSessionStore(settings.data_dir / "sessions.db")


def make_following_cache(settings: Settings) -> FollowingCache:
    if settings.production:
        from graph_svc.storage.redis_cache import RedisFollowingCache

        return RedisFollowingCache(
            redis_client(settings, "following"), prefix=settings.redis_prefix
        )
    from graph_svc.storage.memory_cache import InMemoryFollowingCache

    return InMemoryFollowingCache()

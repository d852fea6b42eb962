"""Where graph_svc keeps users, tokens, follows and counters."""

from __future__ import annotations

from common.backends import cassandra_config, redis_client
from common.settings import Settings
from graph_svc.storage.base import GraphStore


def make_graph_store(settings: Settings) -> GraphStore:
    if settings.production:
        from graph_svc.storage.cassandra import CassandraGraphStore
        from graph_svc.storage.following_cache import RedisFollowingCache

        following = RedisFollowingCache(redis_client(settings), prefix=settings.redis_prefix)
        return CassandraGraphStore(cassandra_config(settings), following)
    from graph_svc.storage.sqlite import SqliteGraphStore

    return SqliteGraphStore(settings.data_dir / "graph.db")

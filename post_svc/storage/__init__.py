"""Where post_svc keeps posts."""

from __future__ import annotations

from common.backends import cassandra_config
from common.settings import Settings
from post_svc.storage.base import PostStore


def make_post_store(settings: Settings) -> PostStore:
    if settings.production:
        from post_svc.storage.cassandra import CassandraPostStore

        return CassandraPostStore(cassandra_config(settings))
    from post_svc.storage.sqlite import SqlitePostStore

    return SqlitePostStore(settings.data_dir / "posts.db")

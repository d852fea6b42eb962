"""Where media_svc keeps upload slots (metadata) and bytes (originals and renditions)."""

from __future__ import annotations

from common.backends import cassandra_config
from common.settings import Settings
from media_svc.storage.base import UploadStore


def make_upload_store(settings: Settings) -> UploadStore:
    if settings.production:
        from media_svc.storage.cassandra import CassandraUploadStore

        return CassandraUploadStore(cassandra_config(settings))
    from media_svc.storage.sqlite import SqliteUploadStore

    return SqliteUploadStore(settings.data_dir / "media.db")

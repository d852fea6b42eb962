"""Where media_svc keeps upload slots (metadata) and bytes (originals and renditions)."""

from __future__ import annotations

from common.backends import cassandra_config
from common.settings import Settings
from media_svc.storage.base import ObjectStore, UploadStore


def make_upload_store(settings: Settings) -> UploadStore:
    if settings.production:
        from media_svc.storage.cassandra import CassandraUploadStore

        return CassandraUploadStore(cassandra_config(settings))
    from media_svc.storage.sqlite import SqliteUploadStore

    return SqliteUploadStore(settings.data_dir / "media.db")


def make_object_store(settings: Settings) -> ObjectStore:
    """Media bytes: an S3-compatible store in production, files under the data directory
    embedded (where media_svc kept them before the object store: the keys are those paths)."""
    if settings.production:
        from media_svc.storage.s3_objects import S3Config, S3ObjectStore

        return S3ObjectStore(
            S3Config(
                endpoint=settings.s3_endpoint,
                bucket=settings.s3_bucket,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                region=settings.s3_region,
            )
        )
    from media_svc.storage.file_objects import FileObjectStore

    return FileObjectStore(settings.data_dir)

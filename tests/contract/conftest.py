"""Backends under contract test. Every backend of an interface runs the same tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from common.cassandra import CassandraStore
from common.events.sqlite import SqliteEventLog
from feed_svc.storage.memory import InMemoryTimelineStore
from graph_svc.storage.sqlite import SqliteGraphStore
from media_svc.storage.sqlite import SqliteUploadStore
from post_svc.storage.sqlite import SqlitePostStore
from tests import servers

TIMELINE_MAX_LEN = 5
PRODUCTION = pytest.mark.production


@pytest.fixture(scope="session", autouse=True)
def _drop_test_keyspace() -> Iterator[None]:
    yield
    if servers.used_cassandra:
        servers.drop_keyspace(servers.TEST_KEYSPACE)


async def _emptied(store: CassandraStore) -> CassandraStore:
    """Opens a Cassandra store in the session's keyspace and empties its tables."""
    await store.open()
    session: Any = store._session
    for statement in store.schema:
        table = statement.split("{ks}.", 1)[1].split()[0]
        await asyncio.to_thread(session.execute, f"TRUNCATE {store._config.keyspace}.{table}")
    return store


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=PRODUCTION)])
async def graph_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        store: Any = SqliteGraphStore(tmp_path / "graph.db")
        await store.open()
    else:
        import redis.asyncio as aioredis

        from graph_svc.storage.cassandra import CassandraGraphStore
        from graph_svc.storage.following_cache import RedisFollowingCache

        servers.require_redis()
        following = RedisFollowingCache(
            aioredis.Redis.from_url(servers.REDIS_URL), prefix=servers.unique_prefix()
        )
        store = await _emptied(CassandraGraphStore(servers.cassandra_config(), following))
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=PRODUCTION)])
async def post_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        store: Any = SqlitePostStore(tmp_path / "posts.db")
        await store.open()
    else:
        from post_svc.storage.cassandra import CassandraPostStore

        store = await _emptied(CassandraPostStore(servers.cassandra_config()))
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=PRODUCTION)])
async def upload_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        store: Any = SqliteUploadStore(tmp_path / "media.db")
        await store.open()
    else:
        from media_svc.storage.cassandra import CassandraUploadStore

        store = await _emptied(CassandraUploadStore(servers.cassandra_config()))
    yield store
    await store.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=PRODUCTION)])
async def timeline_store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        store: Any = InMemoryTimelineStore(max_len=TIMELINE_MAX_LEN, max_timelines=100)
    else:
        import redis.asyncio as aioredis

        from feed_svc.storage.redis import RedisTimelineStore

        servers.require_redis()
        store = RedisTimelineStore(
            aioredis.Redis.from_url(servers.REDIS_URL),
            max_len=TIMELINE_MAX_LEN,
            prefix=servers.unique_prefix(),
        )
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=PRODUCTION)])
async def post_cache(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        from feed_svc.storage.memory_cache import InMemoryPostCache

        cache: Any = InMemoryPostCache()
    else:
        import redis.asyncio as aioredis

        from feed_svc.storage.redis_cache import RedisPostCache

        servers.require_redis()
        cache = RedisPostCache(
            aioredis.Redis.from_url(servers.REDIS_URL), prefix=servers.unique_prefix()
        )
    await cache.open()
    yield cache
    await cache.close()


@pytest.fixture(params=["sqlite", pytest.param("kafka", marks=PRODUCTION)])
def event_log_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Any]]:
    """Makes event-log clients that all see one log (as a restarted process would)."""
    if request.param == "sqlite":
        yield lambda: SqliteEventLog(
            tmp_path / "events.db", poll_interval_s=0.01, retry_delays_s=(0.01, 0.01)
        )
        return
    from common.events.kafka import KafkaEventLog

    servers.require_kafka()
    prefix = servers.unique_prefix()
    yield lambda: KafkaEventLog(
        servers.KAFKA_BOOTSTRAP,
        topic_prefix=prefix,
        partitions=2,
        inline_retry_delays_s=(0.01,),
        retry_delays_s=(0.05, 0.05),
    )
    servers.drop_topics(prefix)


@pytest.fixture
async def event_log(event_log_factory: Callable[[], Any]) -> AsyncIterator[Any]:
    log = event_log_factory()
    await log.open()
    yield log
    await log.close()

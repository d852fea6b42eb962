"""Backends under contract test. Every backend of an interface runs the same tests, built by
the same factories the services use (`storage.make_*`), from settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from common.cassandra import CassandraStore
from common.events.memory import InMemoryEventLog, InMemoryOutbox, Journal
from common.events.sqlite import SqliteEventLog
from common.settings import Settings
from common.worker_ids.memory import InMemoryLeaseStore
from feed_svc.storage import (
    make_notification_store,
    make_post_cache,
    make_pulled_authors,
    make_timeline_store,
)
from graph_svc.storage import make_following_cache, make_graph_store, make_session_store
from media_svc.storage import make_object_store, make_upload_store
from post_svc.storage import (
    make_author_cache,
    make_engagement_store,
    make_liked_cache,
    make_post_store,
    make_stats_store,
)
from tests import servers

TIMELINE_MAX_LEN = 5
PRODUCTION = pytest.mark.production
EMBEDDED_OR_PRODUCTION = ["embedded", pytest.param("production", marks=PRODUCTION)]


@pytest.fixture(scope="session", autouse=True)
def _drop_test_keyspace() -> Iterator[None]:
    yield
    if servers.used_cassandra:
        servers.drop_keyspace(servers.TEST_KEYSPACE)


@pytest.fixture(params=EMBEDDED_OR_PRODUCTION)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Embedded: SQLite files and in-process caches in tmp_path. Production: the test servers."""
    if request.param == "embedded":
        return Settings(data_dir=tmp_path, timeline_max_len=TIMELINE_MAX_LEN)
    return servers.production_settings(timeline_max_len=TIMELINE_MAX_LEN)


@contextlib.asynccontextmanager
async def _opened(store: Any) -> AsyncIterator[Any]:
    """A store open for one test; a Cassandra one (in the session's keyspace) starts empty."""
    await store.open()
    try:
        if isinstance(store, CassandraStore):
            session: Any = store._session
            for statement in store.schema:
                table = statement.split("{ks}.", 1)[1].split()[0]
                await asyncio.to_thread(
                    session.execute, f"TRUNCATE {store._config.keyspace}.{table}"
                )
        yield store
    finally:
        await store.close()


@pytest.fixture
async def graph_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_graph_store(settings)) as opened:
        yield opened


@pytest.fixture
async def session_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_session_store(settings)) as opened:
        yield opened


@pytest.fixture
async def following_cache(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_following_cache(settings)) as opened:
        yield opened


@pytest.fixture
async def notification_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_notification_store(settings)) as opened:
        yield opened


@pytest.fixture
async def liked_cache(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_liked_cache(settings)) as opened:
        yield opened


@pytest.fixture
async def author_cache(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_author_cache(settings)) as opened:
        yield opened


@pytest.fixture
async def post_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_post_store(settings)) as opened:
        yield opened


@pytest.fixture
async def engagement_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_engagement_store(settings)) as opened:
        yield opened


@pytest.fixture
async def stats_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_stats_store(settings)) as opened:
        yield opened


@pytest.fixture
async def upload_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_upload_store(settings)) as opened:
        yield opened


@pytest.fixture
async def pulled_authors(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_pulled_authors(settings)) as opened:
        yield opened


@pytest.fixture
async def timeline_store(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_timeline_store(settings)) as opened:
        yield opened


@pytest.fixture
async def author_timelines(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_timeline_store(settings, kind="atl")) as opened:
        yield opened


@pytest.fixture
async def post_cache(settings: Settings) -> AsyncIterator[Any]:
    async with _opened(make_post_cache(settings)) as opened:
        yield opened


@pytest.fixture(params=["memory", "sqlite", pytest.param("kafka", marks=PRODUCTION)])
def event_log_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], Any]]:
    """Makes event-log clients that all see one log (as a restarted process would). Built by
    hand, not from settings: the tests shorten retry delays that are not settings."""
    if request.param == "memory":
        journal = Journal()
        yield lambda: InMemoryEventLog(journal, retry_delays_s=(0.01, 0.01))
        return
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


@pytest.fixture
async def object_store(settings: Settings) -> AsyncIterator[Any]:
    """Files under the data directory, or a bucket of the test's own in SeaweedFS."""
    if settings.production:
        servers.require_s3()
    store = make_object_store(settings)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
        if settings.production:
            await servers.drop_bucket(settings.s3_bucket)


@pytest.fixture(params=["memory", pytest.param("cassandra", marks=PRODUCTION)])
async def lease_store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """Worker id leases: Cassandra's, and the in-memory one the unit tests use (embedded
    processes lock files instead, tested in tests/unit/common/test_worker_ids.py)."""
    if request.param == "memory":
        yield InMemoryLeaseStore()
        return
    from common.worker_ids.cassandra import CassandraLeaseStore

    async with _opened(CassandraLeaseStore(servers.cassandra_config())) as opened:
        yield opened


@pytest.fixture(params=["memory", pytest.param("cassandra", marks=PRODUCTION)])
async def outbox(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The outbox has no embedded backend (the embedded event log is a local file that is
    never down): the in-memory one the unit tests use, and Cassandra's."""
    if request.param == "memory":
        yield InMemoryOutbox()
        return
    from common.events.cassandra_outbox import CassandraOutbox

    async with _opened(CassandraOutbox(servers.cassandra_config(), owner="posts")) as opened:
        yield opened

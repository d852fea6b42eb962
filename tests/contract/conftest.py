"""Backends under contract test. Every backend of an interface runs the same tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from common.events.sqlite import SqliteEventLog
from feed_svc.storage.memory import InMemoryTimelineStore
from graph_svc.storage.sqlite import SqliteGraphStore
from media_svc.storage.sqlite import SqliteUploadStore
from post_svc.storage.sqlite import SqlitePostStore

TIMELINE_MAX_LEN = 5


@pytest.fixture(params=["sqlite"])
async def graph_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    store = SqliteGraphStore(tmp_path / "graph.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["sqlite"])
async def post_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    store = SqlitePostStore(tmp_path / "posts.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["sqlite"])
async def upload_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    store = SqliteUploadStore(tmp_path / "media.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["memory"])
async def timeline_store(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    store = InMemoryTimelineStore(max_len=TIMELINE_MAX_LEN, max_timelines=100)
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["sqlite"])
async def event_log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    log = SqliteEventLog(tmp_path / "events.db", poll_interval_s=0.01, retry_delays_s=(0.01, 0.01))
    await log.open()
    yield log
    await log.close()

"""The guarded Redis client against a real Redis that goes away and comes back, found
directly or through a Sentinel (a failover is in the fault test, tests/fault/)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from common.errors import Unavailable
from common.redis_client import guarded_redis
from tests import servers

pytestmark = pytest.mark.production


async def test_commands_fail_fast_while_redis_is_down_and_scripts_work_once_it_is_back(
    tmp_path: Path,
) -> None:
    port = servers.stable_port()
    redis_server = servers.own_redis(port, tmp_path)
    redis_server.start()
    client = guarded_redis(f"redis://127.0.0.1:{port}/0")
    script = client.register_script("return redis.call('INCR', KEYS[1])")
    try:
        assert await script(keys=["n"]) == 1
        redis_server.stop()
        for _ in range(5):
            with pytest.raises(Unavailable):
                await script(keys=["n"])
        started = time.monotonic()
        with pytest.raises(Unavailable, match="circuit open"):
            await client.get("n")
        assert time.monotonic() - started < 0.05  # refused without touching the network

        redis_server.start()  # empty: the script is unknown to it (NOSCRIPT)
        async with asyncio.timeout(5):
            while True:  # only scripts call it: one of them must be the probe that gets in
                try:
                    assert await script(keys=["n"]) == 1
                    break
                except Unavailable:
                    await asyncio.sleep(0.05)
        assert await client.get("n") == b"1"
    finally:
        await client.aclose()
        redis_server.stop()


async def test_through_a_sentinel_commands_reach_the_primary_and_fail_fast_without_one(
    tmp_path: Path,
) -> None:
    port, sentinel_port = servers.stable_port(), servers.stable_port()
    redis_server = servers.own_redis(port, tmp_path / "redis")
    sentinel = servers.own_sentinel(sentinel_port, port, "cache", tmp_path / "sentinel")
    redis_server.start()
    sentinel.start()
    watched = [("127.0.0.1", sentinel_port)]
    client = guarded_redis("redis://ignored/0", sentinels=watched, primary="cache")
    unknown = guarded_redis("redis://ignored/0", sentinels=watched, primary="nobody")
    try:
        await client.set("k", "v")
        assert await client.get("k") == b"v"
        with pytest.raises(Unavailable):  # no primary of that name: unavailable, not a 500
            await unknown.get("k")
        redis_server.stop()
        with pytest.raises(Unavailable):
            await client.get("k")
    finally:
        await client.aclose()
        await unknown.aclose()
        sentinel.stop()
        redis_server.stop()

"""The guarded Redis client against a real Redis that goes away and comes back."""

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

"""LeaseStore contract: one holder per worker id, renewed and released only by its holder,
free again once its lease runs out."""

from __future__ import annotations

import asyncio
import time
from typing import Any


async def test_one_holder_per_worker_id(lease_store: Any) -> None:
    assert await lease_store.claim(5, "a", 30)
    assert not await lease_store.claim(5, "b", 30)
    assert await lease_store.claim(6, "b", 30)
    assert await lease_store.held() >= {5, 6}


async def test_only_the_holder_renews_or_releases(lease_store: Any) -> None:
    assert await lease_store.claim(5, "a", 30)
    assert not await lease_store.renew(5, "b", 30)
    assert await lease_store.renew(5, "a", 30)
    await lease_store.release(5, "b")
    assert 5 in await lease_store.held()
    await lease_store.release(5, "a")
    assert 5 not in await lease_store.held()
    assert not await lease_store.renew(5, "a", 30)  # released is gone
    assert await lease_store.claim(5, "b", 30)


async def test_a_lease_that_is_not_renewed_runs_out(lease_store: Any) -> None:
    claimed_at = time.monotonic()
    assert await lease_store.claim(7, "crashed", 2)
    while not await lease_store.claim(7, "next", 30):
        assert time.monotonic() - claimed_at < 10, "the lease did not run out"
        await asyncio.sleep(0.1)
    # Cassandra counts whole seconds: a 2 s lease may end up to a second early, never later.
    assert time.monotonic() - claimed_at >= 1.0
    assert not await lease_store.renew(7, "crashed", 2)

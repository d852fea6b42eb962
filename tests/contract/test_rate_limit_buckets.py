"""BucketStore contract: a bucket allows its burst, then refuses and says when to retry."""

from __future__ import annotations

import uuid

from common.settings import Settings
from gateway.limits import BucketStore, Policy
from gateway.server import _buckets


async def test_a_bucket_allows_its_burst_then_refuses_with_a_retry_time(
    settings: Settings,
) -> None:
    buckets = _buckets(settings)
    try:
        await _check(buckets)
    finally:
        await buckets.close()


async def _check(buckets: BucketStore) -> None:
    policy = Policy("test", per_minute=6, burst=3)  # a token every 10 s
    key = uuid.uuid4().hex
    decisions = [await buckets.take(key, policy) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert 5 < decisions[3].retry_after_s <= 10
    assert 20 < decisions[3].reset_s <= 30
    assert (await buckets.take(uuid.uuid4().hex, policy)).allowed  # another key: its own
    await buckets.forget([key])
    assert (await buckets.take(key, policy)).remaining == 2  # a new bucket, full

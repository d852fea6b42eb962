"""Fan-out's write rate into the timeline store, from one process: how many follower timelines
one worker fills per second through `Fanout.post_published` (the follower ids come from an
in-process list, so only the pushes are measured).

    python -m tests.bench.fanout [--backend production] [--followers 10000] [--posts 20]

Every follower's timeline exists and is ready (as for active readers); each post goes to all
of them in chunks of 1,000, a few chunks at once, as one fan-out worker handles one event.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path
from typing import Any

from common.settings import Settings
from feed_svc.fanout import Fanout, FanoutPolicy
from feed_svc.models import FeedEntry
from feed_svc.storage import make_pulled_authors, make_timeline_store
from feed_svc.threshold import AdaptiveThreshold, ThresholdPolicy
from tests.fakes import FakeGraph, FakePosts


class _Followers(FakeGraph):
    """The author's followers, streamed in chunks as graph_svc streams them, at no cost of its
    own: what is measured is the pushing."""

    def __init__(self, followers: list[int]) -> None:
        super().__init__()
        self._followers = followers

    async def follower_count(self, user_id: int) -> int:
        return len(self._followers)

    async def follower_id_chunks(
        self, user_id: int, chunk_size: int
    ) -> AsyncGenerator[list[int], None]:
        for start in range(0, len(self._followers), chunk_size):
            yield self._followers[start : start + chunk_size]


async def measure(
    backend: str, followers: int, posts: int, in_flight: int, root: Path
) -> dict[str, Any]:
    settings = Settings(data_dir=root)
    if backend == "production":  # Redis only: `make services` runs it
        settings = replace(settings, backend="production", redis_prefix=f"fanout{time.time_ns()}:")
    store = make_timeline_store(settings)
    author_timelines = make_timeline_store(settings, kind="atl")
    author, owners = 0, list(range(1, followers + 1))
    pulled = make_pulled_authors(settings)
    pushed = followers + 1  # the threshold: this author is always pushed
    fanout = Fanout(
        store,
        author_timelines,
        pulled,
        _Followers(owners),
        FakePosts(),
        AdaptiveThreshold(ThresholdPolicy(start=pushed, minimum=pushed, maximum=pushed)),
        FanoutPolicy(chunks_in_flight=in_flight),
    )
    for resource in (store, author_timelines, pulled):
        await resource.open()
    try:
        for owner in owners:
            await store.begin(owner)
            await store.complete(owner, [], None)
        started = time.perf_counter()
        for n in range(posts):
            await fanout.post_published(FeedEntry(1_000_000 + n, 10**15 + n, author))
        elapsed = time.perf_counter() - started
        for owner in [author, *owners]:
            await store.drop(owner)
    finally:
        for resource in (store, author_timelines, pulled):
            await resource.close()
    writes = (followers + 1) * posts  # the followers' timelines and the author's own
    return {
        "backend": backend,
        "chunks_in_flight": in_flight,
        "timeline_writes": writes,
        "seconds": round(elapsed, 3),
        "writes_per_s": round(writes / elapsed),
        "ms_per_post": round(elapsed / posts * 1000, 1),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fanout", description=__doc__)
    parser.add_argument("--backend", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=FanoutPolicy().chunks_in_flight)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(
            measure(args.backend, args.followers, args.posts, args.in_flight, Path(tmp))
        )
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

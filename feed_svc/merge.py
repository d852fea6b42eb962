"""Merging feed sources that each yield newest first into one stream, without duplicates."""

from __future__ import annotations

import heapq
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from feed_svc.models import Candidate


async def merge_newest_first(
    *sources: AsyncGenerator[Candidate, None],
) -> AsyncGenerator[Candidate, None]:
    """k-way merge by feed key, descending; a post seen in two sources comes out once."""
    heap: list[tuple[int, int, int, Candidate]] = []

    async def advance(index: int) -> None:
        candidate = await anext(sources[index], None)
        if candidate is not None:
            published_at_ms, post_id = candidate.entry.key
            heapq.heappush(heap, (-published_at_ms, -post_id, index, candidate))

    seen: set[int] = set()
    try:
        for index in range(len(sources)):
            await advance(index)
        while heap:
            *_, index, candidate = heapq.heappop(heap)
            if candidate.entry.post_id not in seen:
                seen.add(candidate.entry.post_id)
                yield candidate
            await advance(index)
    finally:
        for source in sources:
            await source.aclose()


async def each(batches: AsyncGenerator[list[Candidate], None]) -> AsyncGenerator[Candidate, None]:
    """One candidate at a time from a source that yields batches."""
    async with aclosing(batches):
        async for batch in batches:
            for candidate in batch:
                yield candidate


async def take(source: AsyncIterator[Candidate], count: int) -> list[Candidate]:
    taken: list[Candidate] = []
    while len(taken) < count and (candidate := await anext(source, None)) is not None:
        taken.append(candidate)
    return taken

"""An open-loop load generator: requests start on a fixed schedule whatever the server does, so
queueing shows up in the latencies (no coordinated omission)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

Operation = Callable[[], Awaitable[bool]]  # True when the reply was a success


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict[str, float]:
        if not self.latencies_ms:
            return {"count": 0, "errors": self.errors}
        ordered = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

        return {
            "count": len(ordered),
            "errors": self.errors,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "max_ms": round(ordered[-1], 2),
        }


@dataclass(frozen=True)
class Mix:
    """Weighted operations, e.g. 60% feed reads, 30% profile reads, 10% new posts."""

    operations: Sequence[tuple[str, float, Operation]]

    def pick(self, rng: random.Random) -> tuple[str, Operation]:
        roll = rng.random() * sum(w for _, w, _ in self.operations)
        for name, weight, operation in self.operations:
            roll -= weight
            if roll <= 0:
                return name, operation
        name, _, operation = self.operations[-1]
        return name, operation


async def run_open_loop(
    mix: Mix, rate: float, duration_s: float, *, seed: int = 7, timeout_s: float = 10.0
) -> dict[str, Stats]:
    """Starts `rate` requests a second (Poisson arrivals) for `duration_s`; latency counts
    from the scheduled start, so a server that falls behind shows its queue."""
    rng = random.Random(seed)
    stats: dict[str, Stats] = {name: Stats() for name, _, _ in mix.operations}
    tasks: set[asyncio.Task[None]] = set()

    async def one(name: str, operation: Operation, scheduled: float) -> None:
        try:
            ok = await asyncio.wait_for(operation(), timeout_s)
        except Exception:
            ok = False
        if ok:
            stats[name].latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        else:
            stats[name].errors += 1

    start = time.perf_counter()
    next_at = start
    while next_at - start < duration_s:
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        name, operation = mix.pick(rng)
        task = asyncio.create_task(one(name, operation, next_at))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_at += rng.expovariate(rate)
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s + 1)
    return stats

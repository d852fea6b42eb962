"""What a warm feed read touches on the production backends, by the servers' own counters.

    python -m tests.bench.warm_read [--users 600] [--rate 400] [--seconds 10]

Starts the mesh on Cassandra, Kafka and Redis, seeds a graph as `make bench` does, reads every
reader's feed (warming the caches), then drives the REST feed with vegeta at `--rate` while it
counts, per table, the requests Cassandra's coordinator served (reads, writes, range scans;
`system_views`) and the Paxos rounds (`system.paxos` writes: lightweight transactions), and
Redis's commands (`INFO commandstats`). A warm read should show no Cassandra request at all.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from tests.bench.scenarios import Bench, BenchConfig
from tests.bench.vegeta import attack, ensure_vegeta, write_targets

COUNTERS = ("coordinator_read_latency", "coordinator_write_latency", "coordinator_scan_latency")


def cassandra_requests(keyspace: str) -> Counter[str]:
    """Requests so far per `view:table` of the keyspace, and Paxos writes."""
    from cassandra.cluster import Cluster

    cluster = Cluster(["127.0.0.1"])
    try:
        session = cluster.connect()
        counts: Counter[str] = Counter()
        for view in COUNTERS:
            for row in session.execute(
                f"SELECT table_name, count FROM system_views.{view} WHERE keyspace_name = %s",
                (keyspace,),
            ):
                counts[f"{view.split('_')[1]}:{row.table_name}"] += row.count
        for row in session.execute(
            "SELECT count FROM system_views.local_write_latency "
            "WHERE keyspace_name = 'system' AND table_name = 'paxos'"
        ):
            counts["lwt:paxos"] += row.count
        return counts
    finally:
        cluster.shutdown()


async def until_quiet(keyspace: str, timeout_s: float = 180) -> None:
    """Waits until Cassandra has served nothing for the keyspace for 2 s (the work queued by
    seeding is done), or the deadline passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    before = await asyncio.to_thread(cassandra_requests, keyspace)
    while loop.time() < deadline:
        await asyncio.sleep(2)  # the window of quiet asked for, not a wait for a result
        now = await asyncio.to_thread(cassandra_requests, keyspace)
        if now == before:
            return
        before = now


def redis_commands(url: str) -> Counter[str]:
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
        return Counter(
            {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}
        )
    finally:
        client.close()


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="photoshare-warm-") as tmp:
        config = BenchConfig(
            backend="production",
            root=Path(tmp),
            users=args.users,
            threshold=300,
            samples=args.samples,
            big_author_followers=min(500, args.users // 2),
            celebrity_followers=min(400, args.users // 2),
        )
        async with Bench(config) as bench:
            keyspace = bench.env["PHOTOSHARE_CASSANDRA_KEYSPACE"]
            redis_url = bench.env.get("PHOTOSHARE_REDIS_URL", "redis://127.0.0.1:6379/0")
            tokens = [bench.graph.tokens[r] for r in bench.readers]
            targets = write_targets(Path(tmp) / "warm.targets", f"{bench.base}/v1/feed", tokens)
            vegeta = await asyncio.to_thread(ensure_vegeta)
            await bench.settle()
            await until_quiet(keyspace)  # seeding's notifications and counts are done
            await attack(vegeta, targets, rate=100, seconds=len(tokens) / 100 + 1)  # warm
            cassandra_before = await asyncio.to_thread(cassandra_requests, keyspace)
            redis_before = await asyncio.to_thread(redis_commands, redis_url)
            result = await attack(vegeta, targets, args.rate, args.seconds)
            cassandra = await asyncio.to_thread(cassandra_requests, keyspace) - cassandra_before
            commands = await asyncio.to_thread(redis_commands, redis_url) - redis_before
    reads = max(1, round(result.requests * result.success))
    return {
        "feed": result.summary(),
        "cassandra_requests": dict(cassandra),
        "redis_commands_per_read": {k: round(v / reads, 2) for k, v in commands.most_common()},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.warm_read", description=__doc__)
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--rate", type=float, default=400)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--samples",
        type=Path,
        default=Path(__file__).resolve().parents[3] / "shared" / "media-samples",
    )
    args = parser.parse_args(argv)
    random.seed(7)
    result = asyncio.run(measure(args))
    print(f"warm REST feed reads at {args.rate:g}/s: {result['feed']}")
    print(
        f"Cassandra requests meanwhile (by the coordinator's counters): "
        f"{result['cassandra_requests'] or 'none'}"
    )
    print(f"Redis commands per read: {result['redis_commands_per_read']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

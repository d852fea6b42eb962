"""The fault test: a mesh on the loopback cluster (deploy/cluster.py) under steady load while
one node of each kind is killed -9, left down, started again and waited for until it has
rejoined, in turn: a Cassandra node, a Kafka broker, the Redis primary (its replica is
promoted by the Sentinels) and a SeaweedFS volume server. Then every acknowledged write is
read back.

    python -m tests.fault        # `make fault`: starts the cluster if it is not running

The report gives, per phase, the writes and feed reads that succeeded and failed and the feed's
p50 and p99, each killed node's rejoin time, and the acknowledged writes that were lost
(expected: none). It is also written to .cluster/fault-report.json.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deploy import cluster
from deploy.local import Mesh
from tests.conftest import SAMPLES
from tests.e2e.conftest import mesh_env
from tests.fault.driver import Load, Phase, lost_writes, sample_photo

BEFORE_S = 15.0  # load before the first fault
DOWN_S = 20.0  # load while a node is down
AFTER_S = 10.0  # load after it rejoined
WRITERS, READERS = 3, 4
_OK = {"200", "202"}  # the statuses of an acknowledged write or an answered read


@dataclass
class Report:
    phases: list[dict[str, Any]] = field(default_factory=list)
    rejoin_s: dict[str, float] = field(default_factory=dict)
    acknowledged: dict[str, int] = field(default_factory=dict)
    lost: dict[str, list[str]] = field(default_factory=dict)

    @property
    def lost_count(self) -> int:
        return sum(len(items) for items in self.lost.values())

    def text(self) -> str:
        lines = [
            f"{'phase':34} {'s':>5} {'writes ok/failed':>17} {'feed ok/failed':>15} "
            f"{'feed p50/p99 ms':>16}"
        ]
        for phase in self.phases:
            lines.append(
                f"{phase['name']:34} {phase['seconds']:5.0f} "
                f"{phase['writes_ok']:>8}/{phase['writes_failed']:<8} "
                f"{phase['feed_ok']:>7}/{phase['feed_failed']:<7} "
                f"{phase['feed_p50_ms']:>7.0f}/{phase['feed_p99_ms']:<8.0f}"
            )
        for phase in self.phases:
            if phase["failures"]:
                failed = ", ".join(f"{n} {kind}" for kind, n in phase["failures"].items())
                lines.append(f"  failed in {phase['name']}: {failed}")
        rejoins = ", ".join(f"{node} {s:.1f} s" for node, s in self.rejoin_s.items())
        lines.append(f"rejoined after restart: {rejoins}")
        acked = ", ".join(f"{count} {kind}" for kind, count in self.acknowledged.items())
        lines.append(f"acknowledged writes: {acked}; lost: {self.lost_count}")
        for kind, items in self.lost.items():
            if items:
                lines.append(f"  lost {kind}: {', '.join(items[:10])}")
        return "\n".join(lines)


def summarize(phase: Phase) -> dict[str, Any]:
    writes_ok = sum(
        n for k, n in phase.outcomes.items() if not k.startswith("feed") and k.split()[1] in _OK
    )
    writes = sum(n for k, n in phase.outcomes.items() if not k.startswith("feed"))
    feed_ok = phase.outcomes["feed 200"]
    feed = sum(n for k, n in phase.outcomes.items() if k.startswith("feed"))
    latencies = sorted(phase.feed_ms)
    return {
        "name": phase.name,
        "seconds": (phase.ended or time.monotonic()) - phase.started,
        "writes_ok": writes_ok,
        "writes_failed": writes - writes_ok,
        "feed_ok": feed_ok,
        "feed_failed": feed - feed_ok,
        "feed_p50_ms": statistics.median(latencies) if latencies else 0.0,
        "feed_p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        "failures": {k: n for k, n in phase.outcomes.items() if k.split()[1] not in _OK},
    }


def redis_primary() -> str:
    """The node the Sentinels name the Redis primary now."""
    host = cluster.redis_primary()
    assert host is not None, "no Sentinel answers"
    return f"redis-{cluster.host_number(host)}"


def mesh_on_cluster(root: Path) -> Mesh:
    env = mesh_env(root / "data")  # addresses and limits as the e2e suite has them
    run = uuid.uuid4().hex[:8]
    env.update(
        {
            **cluster.mesh_settings(),
            "PHOTOSHARE_CASSANDRA_KEYSPACE": f"photoshare_fault_{run}",
            "PHOTOSHARE_KAFKA_TOPIC_PREFIX": f"fault{run}.",
            "PHOTOSHARE_REDIS_PREFIX": f"fault{run}:",
            "PHOTOSHARE_S3_BUCKET": f"photoshare-fault-{run}",
            "PHOTOSHARE_KAFKA_PARTITIONS": "3",
        }
    )
    return Mesh(env, log_dir=root / "logs")


async def run_faults(base_url: str, photo: bytes) -> Report:
    load = Load(base_url, photo)
    running = asyncio.create_task(load.run(WRITERS, READERS))
    report = Report()
    try:
        await asyncio.sleep(BEFORE_S)  # a steady load before the first fault
        for node in ("cassandra-3", "kafka-3", redis_primary(), "seaweed-volume-3"):
            load.begin(f"{node} killed")
            await asyncio.to_thread(cluster.kill, node)
            await asyncio.sleep(DOWN_S)
            load.begin(f"{node} restarting")
            process = await asyncio.to_thread(cluster.launch, node)
            report.rejoin_s[node] = await asyncio.to_thread(cluster.wait_ready, node, process)
            load.begin(f"after {node} rejoined")
            await asyncio.sleep(AFTER_S)
    finally:
        load.stop()
        await running
    report.phases = [summarize(phase) for phase in load.phases]
    acked = load.acked
    report.acknowledged = {
        "sign-ups": len(acked.users),
        "follows": len(acked.follows),
        "posts": len(acked.posts),
        "uploads": len(acked.uploads),
    }
    report.lost = await lost_writes(base_url, acked)
    return report


def fault_test(root: Path) -> Report:
    """Starts the cluster if it is not running (and stops it after), runs a mesh on it, and
    the faults; returns the report (also written to .cluster/fault-report.json)."""
    started_here = not all(cluster.is_running(name) for name in cluster.NODES)
    cluster.start(list(cluster.NODES))
    mesh = mesh_on_cluster(root)
    try:
        mesh.start()
        mesh.wait_healthy(120)
        report = asyncio.run(run_faults(mesh.base_url, sample_photo(SAMPLES)))
    finally:
        mesh.stop()
        if started_here:
            cluster.stop(list(cluster.NODES))
    (cluster.STATE / "fault-report.json").write_text(json.dumps(asdict(report), indent=2))
    return report

"""What a feed read costs while Redis is down (production backends).

    python -m tests.bench.outage [--reads 300] [--authors 20]

Runs a production mesh on the shared Cassandra and Kafka (`make services`) with a Redis of its
own, gives one reader `--authors` followees with five posts each, then times `--reads` home
feed reads (20 posts, through the gateway, one at a time) three ways: Redis up and warm,
Redis stopped (the circuit open: every page pulled from Cassandra), and Redis back (empty:
timelines rebuilt). Prints p50, p99 and max per phase.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests import servers
from tests.bench.mesh import running_mesh
from tests.e2e.conftest import Api, eventually

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "media-samples"


def timed_reads(api: Api, token: str, reads: int, expected: int) -> list[float]:
    took = []
    for _ in range(reads):
        started = time.perf_counter()
        posts = api.ok("GET", "/v1/feed?limit=20", token=token)["posts"]
        took.append((time.perf_counter() - started) * 1000)
        assert len(posts) == expected
    return took


def summary(name: str, took: list[float]) -> str:
    took = sorted(took)
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    return (
        f"{name:<28} p50 {statistics.median(took):6.1f} ms   p99 {p99:6.1f} ms   "
        f"max {took[-1]:6.1f} ms   ({len(took)} reads)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.outage", description=__doc__)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--authors", type=int, default=20)
    args = parser.parse_args(argv)
    photo = SAMPLE / "orientation" / "Landscape_1.jpg"
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        port = servers.stable_port()
        redis_server = servers.own_redis(port, root / "redis")
        redis_server.start()
        try:
            with running_mesh(
                root,
                "production",
                PHOTOSHARE_REDIS_URL=f"redis://127.0.0.1:{port}/0",
                PHOTOSHARE_RATE_LIMIT_SCALE="0",
                PHOTOSHARE_CELEBRITY_THRESHOLD="10000",
                PHOTOSHARE_CELEBRITY_THRESHOLD_MIN="10000",
                PHOTOSHARE_CELEBRITY_THRESHOLD_MAX="10000",
                PHOTOSHARE_TIMELINE_MAX_LEN="800",
            ) as mesh:
                api = Api(mesh.base_url)
                _, reader = api.sign_up("reader")
                for a in range(args.authors):
                    author_id, author = api.sign_up(f"author{a}")
                    api.ok("POST", "/v1/follows", {"followedId": author_id}, token=reader)
                    for _ in range(5):
                        api.post_photo(author, photo)
                expected = min(20, 5 * args.authors)
                eventually(lambda: len(api.feed_ids(reader)) == 5 * args.authors, timeout_s=60)
                timed_reads(api, reader, 20, expected)  # warm
                lines = [summary("Redis up, warm", timed_reads(api, reader, args.reads, expected))]
                redis_server.stop()
                lines.append(
                    summary(
                        "Redis down (circuit open)", timed_reads(api, reader, args.reads, expected)
                    )
                )
                redis_server.start()
                lines.append(
                    summary("Redis back (empty)", timed_reads(api, reader, args.reads, expected))
                )
                print("\n".join(lines))
        finally:
            redis_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

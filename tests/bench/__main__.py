"""`make bench`: seeds a power-law graph, drives the mesh with an open-loop load, and reports
feed latency against offered load, fan-out, freshness, media timings and the
hybrid/adaptive/push/pull comparison. JSON, a printed table and a PNG chart land in the output
directory.

    python -m tests.bench --backend embedded --out bench-results
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import live
from tests.bench.otlp_sink import otlp_sink
from tests.bench.report import print_table, write_chart
from tests.bench.scenarios import Bench, BenchConfig


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--backend", choices=["embedded", "production", "both"], default="both")
    parser.add_argument("--users", type=int, default=5_200)
    parser.add_argument(
        "--rates",
        default="25,50,100,200,400",
        help="offered loads in requests/s, each run for --step-seconds",
    )
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument(
        "--rest-rates",
        default="200,300,400,500,600,800,1000",
        help="offered loads for the REST feed under vegeta, until p99 passes 50 ms",
    )
    parser.add_argument(
        "--bare-rates",
        default="1000,2000,3200,4000,5000,6400,8000,10000",
        help="offered loads for the bare aiohttp server it is compared with",
    )
    parser.add_argument(
        "--threshold", type=int, default=300, help="celebrity threshold for the bench graph"
    )
    parser.add_argument(
        "--strategy-users",
        type=int,
        default=1_500,
        help="graph size for the hybrid/push/pull comparison",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument(
        "--strategies",
        default="hybrid,adaptive,push,pull",
        help="which rows of the strategy comparison to run",
    )
    parser.add_argument(
        "--adaptive-budget",
        type=int,
        default=100,
        help="the adaptive strategy's fan-out write budget (timeline writes/s): below what "
        "seeding the strategy graph pushes, so that the threshold has to move",
    )
    parser.add_argument(
        "--skip-strategies",
        action="store_true",
        help="leave out the hybrid/adaptive/push/pull comparison (four more graphs)",
    )
    parser.add_argument(
        "--tracing",
        type=float,
        nargs="?",
        const=1.0,
        default=0.0,
        metavar="RATIO",
        help="the mesh traces this share of requests (1 without a value) and exports the "
        "spans to a sink that drops them: what tracing costs",
    )
    parser.add_argument(
        "--only",
        default="rest,load,pages,freshness,media,live",
        help="which parts to run, of rest (the REST feed under vegeta against bare aiohttp), "
        "load, pages, freshness, media and live (2,000 open streams of the live feed; a quick "
        "media-only run: --only media --users 300 --skip-strategies)",
    )
    parser.add_argument(
        "--streams", type=int, default=2_000, help="open live-feed streams (the live part)"
    )
    parser.add_argument(
        "--samples",
        type=Path,
        default=Path(__file__).resolve().parents[3] / "shared" / "media-samples",
    )
    return parser.parse_args(argv)


async def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    rates = _rates(args.rates)
    results: dict[str, Any] = {"backend": backend, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with tempfile.TemporaryDirectory(prefix="photoshare-bench-") as tmp:
        # --tracing: the mesh exports its sampled spans (to a sink that drops them), to
        # measure what tracing costs; off by default, as in production without a collector.
        sink = otlp_sink() if args.tracing else contextlib.nullcontext("")
        with sink as otlp_endpoint:
            results["tracing"] = args.tracing
            config = BenchConfig(
                backend=backend,
                root=Path(tmp),
                users=args.users,
                threshold=args.threshold,
                samples=args.samples,
                otlp_endpoint=otlp_endpoint,
                trace_sample_ratio=args.tracing,
            )
            async with Bench(config) as bench:
                parts = set(args.only.split(","))
                results["graph"] = bench.describe_graph()
                if "rest" in parts:
                    results["rest_feed"] = await bench.rest_feed_curve(
                        _rates(args.rest_rates),
                        _rates(args.bare_rates),
                        args.step_seconds,
                        args.out / "profiles" / backend,
                    )
                if "load" in parts:
                    results["load"] = await bench.load_curve(
                        rates, args.step_seconds, via="gateway"
                    )
                    results["load_feed"] = await bench.load_curve(
                        rates, args.step_seconds, via="gateway-feed"
                    )
                    results["load_grpc"] = await bench.load_curve(
                        rates, args.step_seconds, via="grpc"
                    )
                if "pages" in parts:
                    results["page_sizes"] = await bench.page_sizes(50, args.step_seconds)
                if "freshness" in parts:
                    results["freshness"] = await bench.freshness()
                    results["fanout"] = bench.fanout_summary(results["freshness"])
                if "media" in parts:
                    results["media"] = await bench.media()
        if "live" in set(args.only.split(",")):
            # A mesh of its own, with rate and connection limits off: every stream is opened
            # from this one address.
            results["live"] = await asyncio.to_thread(
                live.run, backend, Path(tmp) / "live", args.streams, 10
            )
        strategies: dict[str, Any] = {}
        # (name, start, bounds): the fixed ones hold their threshold; the adaptive one starts
        # at hybrid's and moves within a tenfold either way to stay inside --adaptive-budget.
        low, high = max(1, args.threshold // 10), args.threshold * 10
        rows: dict[str, tuple[int, tuple[int, int] | None]] = {
            "hybrid": (args.threshold, None),
            # Starts pushing everyone it may and lets the budget bring the threshold down.
            "adaptive": (high, (low, high)),
            "push": (10**12, None),
            "pull": (1, None),
        }
        chosen = [] if args.skip_strategies else args.strategies.split(",")
        for strategy in chosen:
            threshold, bounds = rows[strategy]
            config = BenchConfig(
                backend=backend,
                root=Path(tmp) / strategy,
                users=args.strategy_users,
                threshold=threshold,
                samples=args.samples,
                big_author_followers=0,
                threshold_bounds=bounds,
                write_budget=args.adaptive_budget,
                fanout_log=True,
            )
            async with Bench(config) as bench:
                strategies[strategy] = await bench.strategy_run(rate=50, seconds=args.step_seconds)
        results["strategies"] = strategies
    return results


def _rates(listed: str) -> list[float]:
    return [float(rate) for rate in listed.split(",")]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    backends = ["embedded", "production"] if args.backend == "both" else [args.backend]
    everything = {}
    for backend in backends:
        print(f"== {backend}: seeding and measuring ...", flush=True)
        random.seed(7)
        result = asyncio.run(run_backend(backend, args))
        everything[backend] = result
        (args.out / f"{backend}.json").write_text(json.dumps(result, indent=2))
        print_table(result)
    write_chart(everything, args.out / "feed-latency.png")
    (args.out / "all.json").write_text(json.dumps(everything, indent=2))
    print(f"results in {args.out}/ (JSON per backend, feed-latency.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

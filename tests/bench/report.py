"""The bench's printed table and its chart of feed latency against offered load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CURVES = {
    "load": "REST gateway, mixed: feed 55, profile 25, notifications 5, like 8, comment 4, post 3",
    "load_feed": "REST gateway, feed reads only",
    "load_grpc": "feed_svc over gRPC, feed reads only",
}
SHORT = {"load": "REST mix", "load_feed": "REST feed", "load_grpc": "gRPC feed"}


def print_table(result: dict[str, Any]) -> None:
    backend = result["backend"]
    graph = result["graph"]
    print(
        f"\n=== {backend}: {graph['users']} users, {graph['follows']} follows, "
        f"celebrity threshold {graph['celebrity_threshold']}, "
        f"celebrities {list(graph['celebrities'].values())} followers"
    )
    if "rest_feed" in result:
        print_rest_feed(result["rest_feed"])
    for via, label in CURVES.items():
        if via not in result:
            continue
        print(f"\nfeed reads via {label}")
        print(
            f"{'offered/s':>10} {'feed/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} "
            f"{'errors':>7} {'cpu ms/req':>10}"
        )
        for step in result[via]:
            feed = step["feed"]
            print(
                f"{step['offered_rps']:>10.0f} {step['feed_throughput_rps']:>8.1f} "
                f"{feed.get('p50_ms', 0):>8.1f} {feed.get('p95_ms', 0):>8.1f} "
                f"{feed.get('p99_ms', 0):>8.1f} {feed.get('max_ms', 0):>8.1f} "
                f"{feed['errors']:>7} {step.get('cpu_ms_per_request', {}).get('total', 0):>10.2f}"
            )
    if "page_sizes" in result:
        print("\nfeed over gRPC by page size (constant round trips per page)")
        print(f"{'limit':>6} {'offered/s':>10} {'p50':>8} {'p99':>8} {'errors':>7}")
        for step in result["page_sizes"]:
            print(
                f"{step['limit']:>6} {step['offered_rps']:>10.0f} {step.get('p50_ms', 0):>8.1f} "
                f"{step.get('p99_ms', 0):>8.1f} {step['errors']:>7}"
            )
    if "freshness" in result:
        print_freshness(result)
    if "media" in result:
        print_media(result["media"])
    if "live" in result:
        print_live(result["live"])
    print_strategies(result)


def print_live(live: dict[str, Any]) -> None:
    print(
        f"\nlive feed: {live['streams']} open streams, {live['posts']} posts, published -> "
        f"event on every stream: p50 {live['p50_ms']:.1f} ms, p99 {live['p99_ms']:.1f} ms, "
        f"max {live['max_ms']:.1f} ms; every post on every stream: "
        f"{live['all_streams_got_every_post']}; resident MB {live['rss_mb']}"
    )


def print_rest_feed(rest: dict[str, Any]) -> None:
    """The vegeta sweeps: the REST feed and the bare aiohttp server, with the CPU each
    process spent per request."""
    for name, label in (("feed", "REST feed (vegeta)"), ("bare_aiohttp", "bare aiohttp")):
        sweep = rest[name]
        print(
            f"\n{label}, {rest['body_bytes']} B pages: p99 <= {rest['p99_target_ms']:g} ms up to "
            f"{sweep['max_rps_within_p99']:g}/s"
        )
        print(f"{'offered/s':>10} {'success':>8} {'p50':>8} {'p99':>8} {'max':>8}  cpu ms/req")
        for step in sweep["steps"]:
            cpu = " ".join(f"{k} {v:.2f}" for k, v in step["cpu_ms_per_request"].items())
            print(
                f"{step['offered_rps']:>10.0f} {step['success']:>8.3f} {step['p50_ms']:>8.1f} "
                f"{step['p99_ms']:>8.1f} {step['max_ms']:>8.1f}  {cpu}"
            )
    print(f"ratio to the bare server: {rest['ratio_to_bare']}")
    if "at_target_rps" in rest:
        print(f"REST feed at the 1,000/s target: {rest['at_target_rps']}")
    if "profile" in rest:
        print_profile(rest["profile"])


def print_profile(profile: dict[str, Any]) -> None:
    """Each process's CPU per request at the profiled rate, split by the layers py-spy saw it
    in (shares of the Python-visible samples applied to the CPU /proc measured)."""
    step = profile["step"]
    print(
        f"\nwhere the CPU went at {step['offered_rps']:g}/s (p99 {step['p99_ms']:.1f} ms; "
        f"py-spy raw stacks in {profile['files']}):"
    )
    for name, cpu_ms in step["cpu_ms_per_request"].items():
        layers = profile["layers"].get(name)
        if not isinstance(layers, dict):
            continue
        split = ", ".join(f"{layer} {share * cpu_ms:.2f}" for layer, share in layers.items())
        print(f"  {name:<10} {cpu_ms:5.2f} ms: {split}")


def print_freshness(result: dict[str, Any]) -> None:
    print("\nfreshness (published -> in the follower's feed), ms")
    for name, row in result["freshness"].items():
        print(
            f"  {name:<24} followers {row['followers']:>5}  p50 {row['p50_ms']:>7.1f}  "
            f"p99 {row['p99_ms']:>7.1f}  max {row['max_ms']:>7.1f}"
        )
    fanout = result["fanout"]
    print(
        f"\nfan-out: {fanout['timelines_written_per_s']} timelines/s, "
        f"{fanout['write_amplification_per_post']} timeline writes per post (mean)"
    )


def print_media(media: dict[str, Any]) -> None:
    print("\nmedia: last byte -> published (-> AVIF added), identical re-upload, ms")
    for name in ("jpeg_12mp", "heic_iphone", "mov_hevc_1080p_10s"):
        row = media[name]
        print(
            f"  {name:<20} {row['last_byte_to_published_ms']} (median {row['median_ms']})"
            f"  AVIF +{row['published_to_avif_ms']}  copy {row['identical_reupload_ms']}"
        )
    get = media["feed_rendition_get"]
    print(
        f"  feed rendition GET at {get['offered_rps']}/s: p50 {get.get('p50_ms')} "
        f"p99 {get.get('p99_ms')} ms"
    )


def print_strategies(result: dict[str, Any]) -> None:
    if not result["strategies"]:
        print(flush=True)
        return
    print("\nstrategies (same graph, feed reads at 50/s; writes per seeded post, measured)")
    print(
        f"{'':>9} {'p50':>8} {'p99':>8} {'writes/post':>12} {'entries':>9} {'memory':>10}"
        f" {'pulled':>7}  thresholds"
    )
    for name, row in result["strategies"].items():
        read = row["feed_read"]
        print(
            f"{name:>9} {read.get('p50_ms', 0):>8.1f} {read.get('p99_ms', 0):>8.1f} "
            f"{row['timeline_writes_per_post']:>12} {row['timeline_entries']:>9} "
            f"{row['timeline_memory_bytes']:>10} {row.get('pulled_authors', 0):>7}  "
            f"{' -> '.join(str(t) for t in row.get('thresholds_seen', []))}"
        )
    print(flush=True)


def write_chart(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for backend, result in results.items():
        for via, style in (("load", "-o"), ("load_feed", "-.^"), ("load_grpc", "--s")):
            steps = result.get(via, [])
            axes.plot(
                [s["offered_rps"] for s in steps],
                [s["feed"].get("p99_ms", 0) for s in steps],
                style,
                label=f"{backend} {SHORT[via]} p99",
            )
            axes.plot(
                [s["offered_rps"] for s in steps],
                [s["feed"].get("p50_ms", 0) for s in steps],
                style,
                alpha=0.4,
                label=f"{backend} {SHORT[via]} p50",
            )
    axes.axhline(200, color="red", linewidth=0.8, linestyle=":", label="target p99 200 ms")
    axes.set_xlabel("offered load (feed reads + mix, requests/s, open loop)")
    axes.set_ylabel("feed read latency (ms)")
    axes.set_yscale("log")
    axes.set_title("Photoshare home feed: latency against offered load")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)

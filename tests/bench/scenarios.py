"""What `make bench` measures, against a real mesh of processes it starts and seeds."""

from __future__ import annotations

import asyncio
import functools
import random
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import pyvips
from photoshare.feed.v1 import feed_service_pb2 as fpb
from photoshare.feed.v1 import feed_service_pb2_grpc as fgrpc

from common.mesh_auth import MeshCredentials
from common.metadata import as_caller
from common.server import insecure_channel
from common.signing import load_secret
from deploy.local import Mesh
from feed_svc.threshold import ThresholdPolicy
from tests.bench.cpu import cpu_ms_per_request, cpu_seconds
from tests.bench.load import Mix, Stats, run_open_loop
from tests.bench.profile import profiled
from tests.bench.seed import Graph, bounded, post_photo, seed_graph, unique_copy
from tests.bench.vegeta import (
    P99_TARGET_MS,
    TARGET_RPS,
    attack,
    bare_server,
    ensure_vegeta,
    sweep,
    write_targets,
)
from tests.e2e.conftest import cleanup_servers, mesh_env
from tests.media_files import make_clip

SATURATED_P99_MS = 1_000.0
SATURATED_ERRORS = 0.05


@dataclass(frozen=True)
class BenchConfig:
    backend: str
    root: Path
    users: int
    threshold: int
    samples: Path
    celebrities: int = 3
    celebrity_followers: int = 1_200
    big_author_followers: int = 5_000
    seeded_posts: int = 300
    # Each seeded author's posts (the first is processed, the rest reuse its media): enough
    # that most readers' feeds fill 20-post pages, as a live service's do.
    posts_per_author: int = 8
    readers: int = 300
    # The adaptive threshold's bounds (None: held at `threshold`) and write budget.
    threshold_bounds: tuple[int, int] | None = None
    write_budget: int = 100_000
    # feed_svc logs each fan-out window and author switch (INFO): strategy runs read them.
    fanout_log: bool = False
    # Where the mesh sends its traces (empty: tracing off, the default).
    otlp_endpoint: str = ""
    trace_sample_ratio: float = 1.0


# How long seeding waits for its backlog of reposted uploads to be published.
SEED_DRAIN_S = 900.0


class Bench:
    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.seed_media_drain_s = 0.0
        self.rng = random.Random(11)
        env = mesh_env(config.root / "data", config.backend)
        low, high = config.threshold_bounds or (config.threshold, config.threshold)
        env["PHOTOSHARE_CELEBRITY_THRESHOLD"] = str(config.threshold)
        env["PHOTOSHARE_CELEBRITY_THRESHOLD_MIN"] = str(low)
        env["PHOTOSHARE_CELEBRITY_THRESHOLD_MAX"] = str(high)
        env["PHOTOSHARE_FANOUT_WRITE_BUDGET"] = str(config.write_budget)
        env.pop("PHOTOSHARE_TIMELINE_MAX_LEN")  # the product default
        env["PHOTOSHARE_LOG_LEVEL"] = "INFO" if config.fanout_log else "WARNING"
        env["PHOTOSHARE_RATE_LIMIT_SCALE"] = "0"  # the load is the point: no abuse limits
        if config.otlp_endpoint:
            env["PHOTOSHARE_OTLP_ENDPOINT"] = config.otlp_endpoint
            env["PHOTOSHARE_TRACE_SAMPLE_RATIO"] = str(config.trace_sample_ratio)
        self.env = env
        self.mesh = Mesh(env, log_dir=config.root / "logs")
        self.small_photo = (config.samples / "camera" / "Canon_40D.jpg").read_bytes()
        self.graph = Graph()
        self.readers: list[int] = []
        self.authors_with_posts: list[int] = []
        self.posts: list[int] = []

    async def __aenter__(self) -> Bench:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        await asyncio.to_thread(self.mesh.start)
        try:
            await asyncio.to_thread(self.mesh.wait_healthy, 120)
            await self._seed()
        except BaseException:
            # A run that fails while seeding leaves no mesh behind to skew the next one.
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _seed(self) -> None:
        config = self.config
        big = min(config.big_author_followers, config.users - 1) or 10
        self.graph = await seed_graph(
            self.env["PHOTOSHARE_GRAPH_ADDR"],
            self.credentials,
            users=config.users,
            celebrities=config.celebrities,
            celebrity_followers=config.celebrity_followers,
            big_author_followers=big,
            rng=self.rng,
        )
        followed = [u for u in self.graph.users if self.graph.followers.get(u)]
        self.authors_with_posts = self.rng.sample(followed, min(config.seeded_posts, len(followed)))
        self.authors_with_posts += [
            c for c in self.graph.celebrities if c not in self.authors_with_posts
        ]
        seeded = await bounded(self._post, self.authors_with_posts, 8)
        fans = sorted({f for fs in self.graph.followers.values() for f in fs})
        self.readers = self.rng.sample(fans, min(config.readers, len(fans)))
        self.posts = [post_id for post_id, _ in seeded]
        await self._wait_media_idle(list(zip(self.posts, self.authors_with_posts, strict=True)))
        more = [a for a in self.authors_with_posts for _ in range(config.posts_per_author - 1)]
        reposted = await bounded(
            lambda author: self._post_exact(author, self.small_photo, "image/jpeg"), more, 8
        )
        # The reposts are a backlog of thousands of uploads: it drains in minutes, not seconds
        # (its time is reported: seed_media_drain_s).
        drain_started = time.monotonic()
        for (post_id, _), author in list(zip(reposted, more, strict=True))[-8:]:
            await self._until_published(post_id, author, timeout_s=SEED_DRAIN_S)
        self.seed_media_drain_s = round(time.monotonic() - drain_started, 1)
        await bounded(self._engage, self.posts, 8)
        await bounded(self._read_feed, self.readers, 16)  # prime

    async def _engage(self, post_id: int) -> None:
        """Feed items with counts, likers and a comment, as a live service has them."""
        for reader in self.rng.sample(self.readers, 3):
            await self._like(reader, post_id)
        await self._comment(self.rng.choice(self.readers), post_id)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.session.close()
        await asyncio.to_thread(self.mesh.stop)
        await asyncio.to_thread(cleanup_servers, self.env)

    # --- operations -------------------------------------------------------------------

    @functools.cached_property
    def credentials(self) -> MeshCredentials:
        """The mesh's credentials, to call services directly as a member of the mesh (read
        once: the mesh made its secret before it started)."""
        secret = load_secret(self.env.get("PHOTOSHARE_SECRET", ""), self.config.root / "data")
        return MeshCredentials(secret)

    @property
    def base(self) -> str:
        return self.mesh.base_url

    def _auth(self, user: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.graph.tokens[user]}"}

    async def _read_feed(self, reader: int, limit: int = 20) -> list[dict[str, Any]]:
        async with self.session.get(
            f"{self.base}/v1/feed?limit={limit}", headers=self._auth(reader)
        ) as reply:
            reply.raise_for_status()
            posts: list[dict[str, Any]] = (await reply.json())["posts"]
            return posts

    async def _like(self, user: int, post_id: int, method: str = "POST") -> bool:
        async with self.session.request(
            method, f"{self.base}/v1/posts/{post_id}/likes", json={}, headers=self._auth(user)
        ) as reply:
            await reply.read()
            return reply.status == 200

    async def _comment(self, user: int, post_id: int) -> bool:
        async with self.session.post(
            f"{self.base}/v1/posts/{post_id}/comments",
            json={"text": "lovely light"},
            headers=self._auth(user),
        ) as reply:
            await reply.read()
            return reply.status == 200

    async def _post(
        self, author: int, photo: bytes | None = None, content_type: str = "image/jpeg"
    ) -> tuple[int, float]:
        """Posts bytes never uploaded before (dedupe would shortcut a repeat)."""
        return await self._post_exact(author, unique_copy(photo or self.small_photo), content_type)

    async def _post_state(self, post_id: int, token_of: int) -> dict[str, Any]:
        async with self.session.get(
            f"{self.base}/v1/posts/{post_id}", headers=self._auth(token_of)
        ) as reply:
            reply.raise_for_status()
            post: dict[str, Any] = (await reply.json())["post"]
            return post

    async def settle(self) -> None:
        """Waits until background media work (AVIF) queued so far is done: one job runs at a
        time, in order, so a new photo's AVIF arriving means every earlier one has."""
        author = self.authors_with_posts[0]
        post_id, _ = await self._post(author)
        await self._wait_media_idle([(post_id, author)])

    async def _wait_media_idle(self, seeded: list[tuple[int, int]]) -> None:
        """Measures start once the seeded posts are published and their AVIF renditions made:
        a backlog of background media work would otherwise eat the cores being measured."""
        for post_id, author in seeded[-8:]:  # AVIF jobs run in order: the last ones finish last
            await self._until_published(post_id, author)
            await self._until_avif(post_id, author)

    async def _redis_memory(self) -> int:
        """Bytes Redis spends on this run's timelines (their sorted sets and state hashes)."""
        if self.config.backend != "production":
            return 0
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(
            self.env.get("PHOTOSHARE_REDIS_URL", "redis://127.0.0.1:6379/0")
        )
        prefix = self.env["PHOTOSHARE_REDIS_PREFIX"]
        total = 0
        try:
            for pattern in (f"{prefix}tl:*", f"{prefix}tlm:*", f"{prefix}atl:*", f"{prefix}atlm:*"):
                async for key in client.scan_iter(match=pattern, count=1000):
                    total += int(await client.memory_usage(key) or 0)
            return total
        finally:
            await client.aclose()

    async def _random_feed_read(self) -> bool:
        """One home-feed read by a random primed reader, through the gateway."""
        reader = self.rng.choice(self.readers)
        async with self.session.get(
            f"{self.base}/v1/feed?limit=20", headers=self._auth(reader)
        ) as reply:
            await reply.read()
            return reply.status == 200

    def _gateway_mix(self) -> Mix:
        rng = self.rng

        async def profile() -> bool:
            author = rng.choice(self.authors_with_posts)
            async with self.session.get(
                f"{self.base}/v1/users/{author}/posts?limit=12",
                headers=self._auth(rng.choice(self.readers)),
            ) as r:
                await r.read()
                return r.status == 200

        async def new_post() -> bool:
            author = rng.choice(self.graph.users)
            photo = unique_copy(self.small_photo)
            body = {
                "caption": "bench",
                "media": {
                    "type": "PHOTO",
                    "contentType": "image/jpeg",
                    "sizeBytes": str(len(photo)),
                },
            }
            async with self.session.post(
                f"{self.base}/v1/posts", json=body, headers=self._auth(author)
            ) as r:
                if r.status != 200:
                    return False
                url = (await r.json())["upload"]["url"]
            async with self.session.put(url, data=photo) as r:
                await r.read()
                return r.status == 202

        async def like() -> bool:
            # Half take a like back, so counts move both ways and notifications are undone.
            method = rng.choice(("POST", "DELETE"))
            return await self._like(rng.choice(self.readers), rng.choice(self.posts), method)

        async def comment() -> bool:
            return await self._comment(rng.choice(self.readers), rng.choice(self.posts))

        async def notifications() -> bool:
            async with self.session.get(
                f"{self.base}/v1/notifications?pageSize=20",
                headers=self._auth(rng.choice(self.authors_with_posts)),
            ) as r:
                await r.read()
                return r.status == 200

        # The DeathStarBench social-network mix (home timeline 60%, user timeline 30%,
        # compose 10%) with its writes split into posts, likes and comments, and a share of
        # the reads going to notifications.
        return Mix(
            [
                ("feed", 55, self._random_feed_read),
                ("profile", 25, profile),
                ("notifications", 5, notifications),
                ("like", 8, like),
                ("comment", 4, comment),
                ("post", 3, new_post),
            ]
        )

    def _feed_only_mix(self) -> Mix:
        return Mix([("feed", 1, self._random_feed_read)])

    def _grpc_mix(self, stub: fgrpc.FeedServiceStub, limit: int = 20) -> Mix:
        rng = self.rng

        async def feed() -> bool:
            reader = rng.choice(self.readers)
            await stub.GetHomeFeed(
                fpb.GetHomeFeedRequest(limit=limit), metadata=as_caller(reader), timeout=10
            )
            return True

        return Mix([("feed", 1, feed)])

    # --- scenarios --------------------------------------------------------------------

    def describe_graph(self) -> dict[str, Any]:
        counts = sorted((len(f) for f in self.graph.followers.values()), reverse=True)
        return {
            "users": len(self.graph.users),
            "follows": sum(counts),
            "followers_max": counts[0] if counts else 0,
            "followers_median": counts[len(counts) // 2] if counts else 0,
            "celebrity_threshold": self.config.threshold,
            "celebrities": {str(c): len(self.graph.followers[c]) for c in self.graph.celebrities},
            "seeded_posts": len(self.authors_with_posts),
            "seed_media_drain_s": self.seed_media_drain_s,
            "readers": len(self.readers),
        }

    async def load_curve(
        self, rates: list[float], seconds: float, *, via: str
    ) -> list[dict[str, Any]]:
        curve = []
        channel = insecure_channel(self.env["PHOTOSHARE_FEED_ADDR"], self.credentials)
        try:
            if via == "grpc":
                mix = self._grpc_mix(fgrpc.FeedServiceStub(channel))
            else:
                mix = self._gateway_mix() if via == "gateway" else self._feed_only_mix()
            for rate in rates:
                await self.settle()  # the last step's posts still owe AVIF: let it finish
                cpu_before = self._cpu_seconds()
                stats = await run_open_loop(mix, rate, seconds)
                step: dict[str, Any] = {"offered_rps": rate}
                step["cpu_ms_per_request"] = cpu_ms_per_request(
                    cpu_before,
                    self._cpu_seconds(),
                    sum(len(s.latencies_ms) for s in stats.values()),
                )
                for name, stat in stats.items():
                    step[name] = stat.summary()
                feed = stats["feed"]
                step["feed_throughput_rps"] = round(len(feed.latencies_ms) / seconds, 1)
                curve.append(step)
                print(f"   {via} {rate:>6.0f} rps: feed {step['feed']}", flush=True)
                total = len(feed.latencies_ms) + feed.errors
                if feed.summary().get(
                    "p99_ms", 0
                ) > SATURATED_P99_MS or feed.errors > SATURATED_ERRORS * max(1, total):
                    break  # saturated: higher rates only measure the queue
        finally:
            await channel.close()
        return curve

    async def rest_feed_curve(
        self, feed_rates: list[float], bare_rates: list[float], seconds: float, profiles: Path
    ) -> dict[str, Any]:
        """The REST feed under vegeta's open-loop load, rate after rate until p99 passes the
        target, then a bare aiohttp server answering the same body the same way: the ratio of
        their best rates is how close the mesh is to what aiohttp alone allows here. At the
        best rate (or the first), py-spy records every service into `profiles`."""
        vegeta = await asyncio.to_thread(ensure_vegeta)
        workdir = self.config.root
        # Readers whose first page is full, so every request is a 20-post page.
        pages = await bounded(self._read_feed, self.readers, 16)
        full = [r for r, page in zip(self.readers, pages, strict=True) if len(page) == 20]
        tokens = [self.graph.tokens[r] for r in full or self.readers]
        targets = write_targets(workdir / "feed.targets", f"{self.base}/v1/feed?limit=20", tokens)
        # The page the bare server answers with, read while the mesh is idle.
        async with self.session.get(
            f"{self.base}/v1/feed?limit=20", headers=self._auth((full or self.readers)[0])
        ) as reply:
            reply.raise_for_status()
            body = await reply.read()
        await self.settle()  # seeding's AVIF work done before the cores are measured
        feed = await sweep(vegeta, targets, feed_rates, seconds, self.mesh.pids)
        # The target rate, measured even when the sweep stopped below it.
        # Profiled before the overload below, whose backlog the mesh works off for a while.
        await self.settle()
        with profiled(self.mesh.pids, seconds, profiles) as layers:
            profiled_run = await sweep(
                vegeta, targets, [feed.best_rps or feed_rates[0]], seconds, self.mesh.pids
            )
        at_target = await attack(vegeta, targets, TARGET_RPS, seconds)
        with bare_server(body, workdir) as (url, pid):
            bare_targets = write_targets(workdir / "bare.targets", url, tokens)
            bare = await sweep(vegeta, bare_targets, bare_rates, seconds, {"bare": pid})
        return {
            "feed": feed.summary(),
            "bare_aiohttp": bare.summary(),
            "body_bytes": len(body),
            "readers_with_full_pages": len(full),
            "p99_target_ms": P99_TARGET_MS,
            "ratio_to_bare": round(feed.best_rps / bare.best_rps, 3) if bare.best_rps else None,
            "at_target_rps": at_target.summary(),
            "profile": {"step": profiled_run.steps[0], "layers": layers, "files": str(profiles)},
        }

    def _cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user and system) each service process has used so far."""
        return cpu_seconds(self.mesh.pids)

    async def page_sizes(self, rate: float, seconds: float) -> list[dict[str, Any]]:
        """Feed latency over gRPC by page size at one offered rate: a page is hydrated with a
        constant number of round trips, so time grows with the bytes, not with calls."""
        results = []
        channel = insecure_channel(self.env["PHOTOSHARE_FEED_ADDR"], self.credentials)
        try:
            stub = fgrpc.FeedServiceStub(channel)
            for limit in (5, 20, 50, 100):
                await self.settle()
                mix = self._grpc_mix(stub, limit)
                stats = await run_open_loop(mix, rate, seconds)
                step = {"limit": limit, "offered_rps": rate, **stats["feed"].summary()}
                results.append(step)
                print(f"   page size {limit:>3}: {step}", flush=True)
        finally:
            await channel.close()
        return results

    async def freshness(self) -> dict[str, Any]:
        await self.settle()
        graph = self.graph
        cases = {
            "author_10_followers": graph.author10,
            "author_5000_followers": graph.author5000,
            "celebrity": graph.celebrities[0],
        }
        results: dict[str, Any] = {}
        for name, author in cases.items():
            fans = sorted(graph.followers[author])
            sample = sorted(set(self.rng.sample(fans, min(40, len(fans)))) | {fans[-1]})
            await bounded(lambda r: self._read_feed(r, 1), sample, 16)  # timelines
            post_id, _ = await self._post(author)
            published = await self._until_published(post_id, author)
            published_at = _epoch_ms(published["publishedAt"]) / 1000

            delays = sorted(
                await bounded(
                    functools.partial(self._seen_after, post_id=post_id, published_at=published_at),
                    sample,
                    16,
                )
            )
            results[name] = {
                "followers": len(fans),
                "sampled_followers": len(sample),
                "p50_ms": round(delays[len(delays) // 2] * 1000, 1),
                "p99_ms": round(delays[min(len(delays) - 1, int(0.99 * len(delays)))] * 1000, 1),
                "max_ms": round(delays[-1] * 1000, 1),
            }
            print(f"   freshness {name}: {results[name]}", flush=True)
        return results

    async def _seen_after(self, reader: int, post_id: int, published_at: float) -> float:
        """Seconds from the post's publish time until it is in the reader's feed."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            posts = await self._read_feed(reader, 5)
            if any(p["id"] == str(post_id) for p in posts):
                return time.time() - published_at
            await asyncio.sleep(0.01)
        return float("inf")

    def fanout_summary(self, freshness: dict[str, Any]) -> dict[str, Any]:
        big = freshness["author_5000_followers"]
        written = big["followers"] + 1
        seconds = max(big["max_ms"], 1) / 1000  # the last follower in fan-out order was sampled
        return {
            "timelines_written_per_s": round(written / seconds),
            "write_amplification_per_post": round(
                self.graph.pushed_writes_per_post(self.graph.users, self.config.threshold), 2
            ),
            "note": "timelines/s from the 5000-follower author: its followers+1 entries over "
            "the time until its last follower (in fan-out order) saw the post",
        }

    async def _until_published(
        self, post_id: int, author: int, timeout_s: float = 60.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            post = await self._post_state(post_id, author)
            if post["state"] != "POST_STATE_PENDING_MEDIA":
                return post
            await asyncio.sleep(0.01)
        raise TimeoutError(f"post {post_id} was not published within {timeout_s:.0f} s")

    async def media(self) -> dict[str, Any]:
        """Last byte -> published for fresh uploads (each one's bytes new, so no dedupe),
        published -> AVIF added, and a re-upload of identical bytes."""
        await self.settle()
        clip = await asyncio.to_thread(_phone_clip)
        media = {
            "jpeg_12mp": (
                await asyncio.to_thread(_twelve_megapixel_jpeg, self.config.samples),
                "image/jpeg",
            ),
            "heic_iphone": (
                (self.config.samples / "heif" / "IMG_5195.HEIC").read_bytes(),
                "image/heic",
            ),
            "mov_hevc_1080p_10s": (clip, "video/quicktime"),
        }
        author = self.graph.author10
        results: dict[str, Any] = {}
        feed_url = ""
        for name, (data, content_type) in media.items():
            timings, avif_lags = [], []
            for _ in range(3):
                post_id, _ = await self._post(author, data, content_type)
                uploaded = time.monotonic()
                post = await self._until_published(post_id, author)
                published = time.monotonic()
                timings.append((published - uploaded) * 1000)
                if content_type.startswith("image/"):
                    feed_url = _rendition(post, "RENDITION_SIZE_FEED", "image/jpeg")
                    await self._until_avif(post_id, author)
                    avif_lags.append((time.monotonic() - published) * 1000)
            copy = unique_copy(data)  # the same bytes twice: the second reuses the first
            for attempt in ("first", "copy"):
                post_id, _ = await self._post_exact(author, copy, content_type)
                uploaded = time.monotonic()
                await self._until_published(post_id, author)
                if content_type.startswith("image/") and attempt == "first":
                    await self._until_avif(post_id, author)
            results[name] = {
                "bytes": len(data),
                "last_byte_to_published_ms": [round(t) for t in timings],
                "median_ms": round(sorted(timings)[1]),
                "published_to_avif_ms": [round(t) for t in avif_lags],
                "identical_reupload_ms": round((time.monotonic() - uploaded) * 1000),
            }
            print(f"   media {name}: {results[name]}", flush=True)

        async def get_rendition() -> bool:
            async with self.session.get(feed_url) as reply:
                await reply.read()
                return reply.status == 200

        stats = await run_open_loop(Mix([("media", 1, get_rendition)]), 200, 5)
        results["feed_rendition_get"] = {"offered_rps": 200, **stats["media"].summary()}
        print(f"   media GET: {results['feed_rendition_get']}", flush=True)
        return results

    async def _until_avif(self, post_id: int, author: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            post = await self._post_state(post_id, author)
            if any(r["contentType"] == "image/avif" for r in post["media"]["renditions"]):
                return
            await asyncio.sleep(0.01)
        raise TimeoutError(f"post {post_id} got no AVIF within 60 s")

    async def _post_exact(self, author: int, data: bytes, content_type: str) -> tuple[int, float]:
        return await post_photo(
            self.env["PHOTOSHARE_POST_ADDR"],
            self.credentials,
            self.session,
            author,
            data,
            content_type,
        )

    async def strategy_run(self, rate: float, seconds: float) -> dict[str, Any]:
        fanout = await self._fanout_record()
        mix = Mix([("feed", 1, self._random_feed_read)])
        stats: dict[str, Stats] = await run_open_loop(mix, rate, seconds)
        entries = self._timeline_entries(fanout.pulled)
        memory = await self._redis_memory()
        result = {
            "celebrity_threshold": self.config.threshold,
            "threshold_bounds": list(self.config.threshold_bounds or ()),
            "thresholds_seen": fanout.thresholds,
            "pulled_authors": len(fanout.pulled),
            "feed_read": stats["feed"].summary(),
            "timeline_writes_per_post": round(fanout.writes / max(1, fanout.posts), 2),
            "timeline_entries": entries,
            "timeline_memory_bytes": (
                memory if self.config.backend == "production" else entries * ENTRY_BYTES_ESTIMATE
            ),
        }
        print(f"   strategy threshold={self.config.threshold}: {result}", flush=True)
        return result

    async def _fanout_record(self) -> FanoutRecord:
        """What feed_svc's fan-out did with the seeded posts, from its log: a window's line is
        written when the first post after it arrives, so one more post closes the last one."""
        seeded = len(self.authors_with_posts) * self.config.posts_per_author
        await asyncio.sleep(ThresholdPolicy().window_s)  # the seeding's last window ends
        await self._post_exact(self.authors_with_posts[0], self.small_photo, "image/jpeg")
        log = self.config.root / "logs" / "feed_svc.log"
        deadline = time.monotonic() + 60
        while True:
            record = FanoutRecord.read(log.read_text() if log.exists() else "")
            if record.posts >= seeded:
                if self.config.threshold_bounds:  # how it moved, window by window
                    print(*(f"   {w}" for w in record.windows), sep="\n", flush=True)
                return record
            if time.monotonic() > deadline:
                raise TimeoutError(f"feed_svc logged {record.posts} of {seeded} posts")
            await asyncio.sleep(0.2)

    def _timeline_entries(self, pulled: set[int]) -> int:
        """Entries the primed timelines hold: each reader's seeded posts of pushed authors (the
        timelines were built after the seeding, from the authors pushed then)."""
        posted = set(self.authors_with_posts)
        total = 0
        for reader in self.readers:
            authors = {a for a in posted - pulled if reader in self.graph.followers.get(a, ())}
            total += len(authors) + (1 if reader in posted else 0)
        return total * self.config.posts_per_author


@dataclass
class FanoutRecord:
    """feed_svc's fan-out log summed: posts, timeline writes, the thresholds it moved
    through in order, and the authors pulled at the end."""

    posts: int
    writes: int
    thresholds: list[int]
    pulled: set[int]
    windows: list[str]

    WINDOW = re.compile(
        r"fan-out window: (\d+) posts, (\d+) timeline writes.*threshold (\d+) -> (\d+)"
    )
    SWITCH = re.compile(r"author (\d+) is (pulled from now|pushed again)")

    @classmethod
    def read(cls, text: str) -> FanoutRecord:
        record = cls(0, 0, [], set(), [])
        for line in text.splitlines():
            if window := cls.WINDOW.search(line):
                record.windows.append(line[window.start() :])
                posts, writes, before, after = (int(g) for g in window.groups())
                record.posts += posts
                record.writes += writes
                for threshold in (before, after):
                    if record.thresholds[-1:] != [threshold]:
                        record.thresholds.append(threshold)
            elif switch := cls.SWITCH.search(line):
                author = int(switch.group(1))
                if switch.group(2) == "pulled from now":
                    record.pulled.add(author)
                else:
                    record.pulled.discard(author)
        return record


# In-process timelines: a key tuple, an entry object and index slots, measured with
# tracemalloc at about this size per entry on CPython 3.11.
ENTRY_BYTES_ESTIMATE = 250


def _epoch_ms(rfc3339: str) -> float:
    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    stamp.FromJsonString(rfc3339)
    return float(stamp.ToMilliseconds())


def _rendition(post: dict[str, Any], size: str, content_type: str) -> str:
    return next(
        str(r["url"])
        for r in post["media"]["renditions"]
        if r["size"] == size and r["contentType"] == content_type
    )


def _phone_clip() -> bytes:
    """10 s of 1080p HEVC in MOV with audio, as a phone records it (made with ffmpeg)."""
    with tempfile.TemporaryDirectory() as folder:
        return make_clip(Path(folder) / "clip.mov", size="1920x1080", seconds=10).read_bytes()


def _twelve_megapixel_jpeg(samples: Path) -> bytes:
    """A 4000x3000 phone-like JPEG made from a real photo (no 12 MP sample is shipped)."""
    image = pyvips.Image.new_from_file(str(samples / "camera" / "jolla_phone.jpg"))
    image = image.resize(4000 / image.width, vscale=3000 / image.height)
    data: bytes = image.write_to_buffer(".jpg", Q=90)
    return data

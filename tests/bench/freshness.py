"""How soon a pushed author's post is in their followers' feeds, with every follower's timeline
ready (as for active readers), so that fan-out writes all of them.

    python -m tests.bench.freshness [--backend production] [--followers 10000] [--posts 5]

Signs up the author and their followers, has each follower read their feed once (building
their timeline), then publishes photos and watches for each post: on production, in every
follower's timeline in Redis (what their next read serves); embedded, in a sample of
followers' feeds, polled (watching more would load the two cores it measures). Delays run
from the post's `published_at` to the poll that found it; the threshold is held above the
author, so every post is fanned out. The target (issue 13) is p99 < 1 s at 10,000 followers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio
from photoshare.feed.v1 import feed_service_pb2 as fpb
from photoshare.feed.v1 import feed_service_pb2_grpc as fgrpc
from photoshare.graph.v1 import graph_service_pb2 as gpb
from photoshare.graph.v1 import graph_service_pb2_grpc as ggrpc
from photoshare.post.v1 import post_service_pb2 as ppb
from photoshare.post.v1 import post_service_pb2_grpc as pgrpc

from common.mesh_auth import MeshCredentials
from common.metadata import as_caller
from common.server import insecure_channel
from common.settings import Settings
from common.signing import load_secret
from feed_svc.models import FeedEntry
from feed_svc.storage.redis import RedisTimelineStore
from tests.bench.load import Stats
from tests.bench.mesh import running_mesh
from tests.bench.seed import bounded, post_photo

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "media-samples"
TIMEOUT_S = 30.0


async def measure(env: dict[str, str], followers: int, posts: int, sample: int) -> dict[str, Any]:
    data_dir = Path(env["PHOTOSHARE_DATA_DIR"])
    credentials = MeshCredentials(load_secret(env.get("PHOTOSHARE_SECRET", ""), data_dir))
    photo = (SAMPLES / "camera" / "Canon_40D.jpg").read_bytes()
    rng = random.Random(13)
    async with (
        insecure_channel(env["PHOTOSHARE_GRAPH_ADDR"], credentials) as graph_channel,
        insecure_channel(env["PHOTOSHARE_FEED_ADDR"], credentials) as feed_channel,
        insecure_channel(env["PHOTOSHARE_POST_ADDR"], credentials) as post_channel,
        aiohttp.ClientSession() as session,
    ):
        graph = ggrpc.GraphServiceStub(graph_channel)
        feed = fgrpc.FeedServiceStub(feed_channel)
        post_stub = pgrpc.PostServiceStub(post_channel)
        run = f"{rng.getrandbits(24):06x}"

        async def sign_up(i: int) -> int:
            reply = await graph.CreateUser(
                gpb.CreateUserRequest(username=f"f{run}_{i}"), timeout=60
            )
            return int(reply.user.id)

        started = time.monotonic()
        author, *fans = await bounded(sign_up, range(followers + 1), 64)

        async def follow(fan: int) -> None:
            await graph.Follow(
                gpb.FollowRequest(followed_id=author), metadata=as_caller(fan), timeout=60
            )

        async def read(reader: int) -> list[int]:
            reply = await feed.GetHomeFeed(
                fpb.GetHomeFeedRequest(limit=3), metadata=as_caller(reader), timeout=60
            )
            return [p.id for p in reply.posts]

        await bounded(follow, fans, 64)
        await bounded(read, fans, 32)  # every follower's timeline is built and ready
        print(f"   {followers} followers seeded in {time.monotonic() - started:.0f} s", flush=True)

        if env.get("PHOTOSHARE_BACKEND") == "production":
            watch = _timelines_watcher(env, fans)
        else:
            watch = _feeds_watcher(read, sorted(rng.sample(fans, min(sample, len(fans)))))
        delays: list[float] = []
        for _ in range(posts):
            post_id, _ = await post_photo(
                env["PHOTOSHARE_POST_ADDR"], credentials, session, author, photo
            )
            published_at = await _published_at(post_stub, post_id, author)
            delays += await watch(FeedEntry(round(published_at * 1000), post_id, author))
    return {
        "followers": followers,
        "posts": posts,
        "watched_followers": len(delays) // posts,
        **Stats([delay * 1000 for delay in delays]).summary(),
    }


Watch = Callable[[FeedEntry], Awaitable[list[float]]]


def _timelines_watcher(env: dict[str, str], followers: list[int]) -> Watch:
    """Production: every follower's timeline in Redis, read directly (a feed read serves what
    its timeline holds), so that watching ten thousand followers loads nothing but Redis."""
    settings = Settings.from_env(env)
    store = RedisTimelineStore(
        redis.asyncio.Redis.from_url(settings.redis_url),
        max_len=settings.timeline_max_len,
        prefix=settings.redis_prefix,
    )

    async def watch(entry: FeedEntry) -> list[float]:
        waiting, delays = list(followers), []
        deadline = time.monotonic() + TIMEOUT_S
        while waiting and time.monotonic() < deadline:
            held = await store.holding(waiting, entry)
            now = time.time()
            delays += [now - entry.published_at_ms / 1000 for h in held if h]
            waiting = [f for f, h in zip(waiting, held, strict=True) if not h]
            await asyncio.sleep(0.005)
        return delays + [float("inf")] * len(waiting)

    return watch


def _feeds_watcher(read: Callable[[int], Awaitable[list[int]]], watched: list[int]) -> Watch:
    """Embedded (timelines in feed_svc's memory): a sample of followers' feeds, polled."""

    async def watch(entry: FeedEntry) -> list[float]:
        async def seen(reader: int) -> float:
            deadline = time.monotonic() + TIMEOUT_S
            while time.monotonic() < deadline:
                if entry.post_id in await read(reader):
                    return time.time() - entry.published_at_ms / 1000
                await asyncio.sleep(0.02)
            return float("inf")

        return await bounded(seen, watched, 8)

    return watch


async def _published_at(posts: pgrpc.PostServiceStub, post_id: int, author: int) -> float:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        reply = await posts.GetPost(
            ppb.GetPostRequest(id=post_id), metadata=as_caller(author), timeout=10
        )
        if reply.post.state == ppb.POST_STATE_PUBLISHED:
            return reply.post.published_at.ToMilliseconds() / 1000
        await asyncio.sleep(0.01)
    raise TimeoutError(f"post {post_id} was not published within {TIMEOUT_S} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.freshness", description=__doc__)
    parser.add_argument("--backend", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument(
        "--sample", type=int, default=20, help="followers whose feeds are polled (embedded)"
    )
    args = parser.parse_args(argv)
    above = str(args.followers + 1)  # the threshold, held still: the author is pushed
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_mesh(
            Path(scratch),
            args.backend,
            PHOTOSHARE_RATE_LIMIT_SCALE="0",
            PHOTOSHARE_CELEBRITY_THRESHOLD=above,
            PHOTOSHARE_CELEBRITY_THRESHOLD_MIN=above,
            PHOTOSHARE_CELEBRITY_THRESHOLD_MAX=above,
            PHOTOSHARE_TIMELINE_CACHE_USERS=str(args.followers * 2),
        ) as mesh,
    ):
        result = asyncio.run(measure(dict(mesh.env), args.followers, args.posts, args.sample))
    print({"backend": args.backend, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

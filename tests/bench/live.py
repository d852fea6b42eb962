"""The live feed under many open streams: how soon a published post is an event on every
follower's stream, with 2,000 streams open on one gateway and one feed_svc process.

    python -m tests.bench.live [--backend embedded] [--streams 2000] [--posts 10]

Signs up an author and `--streams` readers who follow them, opens one `GET /v1/feed:stream`
per reader through the gateway (a Server-Sent Events connection each, all from this process),
waits until a first post reached every stream (each is registered then), then publishes
`--posts` photos a second apart. Delays run from the post's `publishedAt` to the moment its
event was read off each stream; every stream must get every post. The issue's target: within
1 s (p99) at 2,000 open streams. The processes' resident memory is reported with them.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from photoshare.graph.v1 import graph_service_pb2 as gpb
from photoshare.graph.v1 import graph_service_pb2_grpc as ggrpc

from common.mesh_auth import MeshCredentials
from common.metadata import as_caller
from common.server import insecure_channel
from common.signing import load_secret
from deploy.local import Mesh
from tests.bench.load import Stats
from tests.bench.mesh import running_mesh
from tests.bench.seed import bounded, post_photo

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "media-samples"
TIMEOUT_S = 30.0


class Reader:
    """One open stream: the delay of each post it received, by post id."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.delays: dict[int, float] = {}
        self.failure: str = ""
        # Set once the answer's headers arrived: the gateway sends them when feed_svc has
        # registered the stream, so every post published later reaches it.
        self.opened = asyncio.Event()

    async def listen(self, session: aiohttp.ClientSession, url: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with session.get(url, headers=headers) as response:
                if response.status != 200:
                    self.failure = f"{response.status}: {await response.text()}"
                    return
                self.opened.set()
                async for line in response.content:
                    if line.startswith(b'data: {"post"'):
                        received = time.time()
                        post = orjson.loads(line[6:])["post"]
                        self.delays[int(post["id"])] = received - _seconds(post["publishedAt"])
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failure = repr(exc)


def _seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


async def measure(mesh: Mesh, streams: int, posts: int) -> dict[str, Any]:
    env = mesh.env
    credentials = MeshCredentials(
        load_secret(env.get("PHOTOSHARE_SECRET", ""), Path(env["PHOTOSHARE_DATA_DIR"]))
    )
    photo = (SAMPLES / "camera" / "Canon_40D.jpg").read_bytes()
    run = f"{int(time.time()) % 1_000_000:06d}"
    url = f"{mesh.base_url}/v1/feed:stream"
    connector = aiohttp.TCPConnector(limit=0)  # one connection per stream
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with (
        insecure_channel(env["PHOTOSHARE_GRAPH_ADDR"], credentials) as graph_channel,
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
    ):
        graph = ggrpc.GraphServiceStub(graph_channel)

        async def sign_up(i: int) -> gpb.CreateUserResponse:
            return await graph.CreateUser(gpb.CreateUserRequest(username=f"l{run}_{i}"), timeout=60)

        started = time.monotonic()
        author, *fans = await bounded(sign_up, range(streams + 1), 64)
        author_id = author.user.id

        async def follow(fan: gpb.CreateUserResponse) -> None:
            await graph.Follow(
                gpb.FollowRequest(followed_id=author_id),
                metadata=as_caller(fan.user.id),
                timeout=60,
            )

        await bounded(follow, fans, 64)
        print(f"   {streams} readers seeded in {time.monotonic() - started:.0f} s", flush=True)

        readers = [Reader(fan.token) for fan in fans]
        listening = [asyncio.create_task(r.listen(session, url)) for r in readers]

        async def publish() -> int:
            post_id, _ = await post_photo(
                env["PHOTOSHARE_POST_ADDR"], credentials, session, author_id, photo
            )
            return post_id

        async def everyone_got(post_id: int) -> bool:
            deadline = time.monotonic() + TIMEOUT_S
            while time.monotonic() < deadline:
                if all(post_id in r.delays for r in readers):
                    return True
                if all(t.done() for t in listening):
                    break
                await asyncio.sleep(0.05)
            return False

        opening = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(r.opened.wait() for r in readers)), 120)
        opened_s = time.monotonic() - opening
        failures = {r.failure for r in readers if r.failure}
        if failures or not await everyone_got(await publish()):  # a first post reaches all
            raise AssertionError(f"the streams did not all open: {sorted(failures)[:3]}")
        memory = {name: _rss_mb(pid) for name, pid in mesh.pids.items()}
        published = []
        for _ in range(posts):
            published.append(await publish())
            await asyncio.sleep(1.0)
        complete = [await everyone_got(post_id) for post_id in published]
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)
    delays = [r.delays.get(p, float("inf")) * 1000 for r in readers for p in published]
    return {
        "streams": streams,
        "posts": posts,
        "all_streams_got_every_post": all(complete),
        "streams_open_in_s": round(opened_s, 1),
        "rss_mb": memory,
        **Stats(delays).summary(),
    }


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def run(backend: str, root: Path, streams: int, posts: int) -> dict[str, Any]:
    """A mesh of its own (rate and connection limits off: every stream comes from here)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with running_mesh(root, backend, PHOTOSHARE_RATE_LIMIT_SCALE="0") as mesh:
        return {"backend": backend, **asyncio.run(measure(mesh, streams, posts))}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.live", description=__doc__)
    parser.add_argument("--backend", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--streams", type=int, default=2_000)
    parser.add_argument("--posts", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        print(run(args.backend, Path(scratch), args.streams, args.posts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

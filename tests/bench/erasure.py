"""How long erasing a large account takes: 1,000 posts and 10,000 followers.

    python -m tests.bench.erasure [--backend embedded|production] [--posts 1000]
                                  [--followers 10000]

Runs a mesh (production: on the shared servers, `make services`) with no grace period, seeds
the account through the services' own RPCs (every post a real, unique photo, processed and
published), then erases it through the REST API and reports: the 202 (the account hidden),
each step of the workflow (from graph_svc's log), the username free again (every step done),
and the operator's scan finding nothing (the asynchronous consumers done too).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import pyvips
from photoshare.graph.v1 import graph_service_pb2 as gpb
from photoshare.graph.v1 import graph_service_pb2_grpc as ggrpc
from photoshare.post.v1 import post_internal_service_pb2 as pipb
from photoshare.post.v1 import post_internal_service_pb2_grpc as pigrpc
from photoshare.post.v1 import post_service_pb2 as ppb

from common.mesh_auth import MeshCredentials
from common.metadata import as_caller
from common.server import insecure_channel
from common.settings import Settings
from common.signing import load_secret
from deploy.erasure import verify
from tests.bench.mesh import running_mesh
from tests.bench.seed import bounded, post_photo
from tests.e2e.conftest import Api, eventually

STEP_LINE = re.compile(r"erasure of user \d+: (\w+) took ([\d.]+) s")


def tiny_photo(n: int) -> bytes:
    """A small JPEG of its own noise: no two posts share renditions."""
    noise = pyvips.Image.gaussnoise(96, 72, mean=128, sigma=40, seed=n)
    return bytes(noise.cast("uchar").bandjoin([noise, noise]).jpegsave_buffer(Q=80))


async def seed(env: dict[str, str], posts: int, followers: int) -> tuple[int, str]:
    """The account to erase, with its followers and published posts; returns (id, token)."""
    settings = Settings.from_env(env)
    credentials = MeshCredentials(load_secret(settings.secret, settings.data_dir))
    async with insecure_channel(settings.graph_addr, credentials) as channel:
        graph = ggrpc.GraphServiceStub(channel)
        ada = await graph.CreateUser(gpb.CreateUserRequest(username="ada"), timeout=30)

        async def follower(i: int) -> None:
            fan = await graph.CreateUser(gpb.CreateUserRequest(username=f"fan{i}"), timeout=30)
            follow = gpb.FollowRequest(followed_id=ada.user.id)
            await graph.Follow(follow, metadata=as_caller(fan.user.id), timeout=30)

        started = time.perf_counter()
        await bounded(follower, range(followers), 64)
        print(f"seeded {followers} followers in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        made = await bounded(
            lambda n: post_photo(
                settings.post_addr, credentials, session, ada.user.id, tiny_photo(n)
            ),
            range(posts),
            16,
        )
    post_ids = [post_id for post_id, _ in made]
    async with insecure_channel(settings.post_addr, credentials) as channel:
        stub = pigrpc.PostInternalServiceStub(channel)

        async def pending() -> int:
            count = 0
            for start in range(0, len(post_ids), 500):  # the most one call takes
                reply = await stub.BatchGetPosts(
                    pipb.BatchGetPostsRequest(ids=post_ids[start : start + 500]),
                    metadata=as_caller(ada.user.id),
                    timeout=30,
                )
                count += sum(p.state == ppb.POST_STATE_PENDING_MEDIA for p in reply.posts)
            return count

        while await pending():  # noqa: ASYNC110 - another process's state: only asking tells
            await asyncio.sleep(0.5)
    print(f"seeded {posts} published posts in {time.perf_counter() - started:.0f} s", flush=True)
    return ada.user.id, ada.token


def failed_steps(log: str) -> list[str]:
    """Each step that failed and was taken up again: its log line and the error's."""
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d )", log)
    return [
        f"{record.splitlines()[0]}: {record.rstrip().splitlines()[-1]}"
        for record in records
        if "stopped at" in record.splitlines()[0]
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.erasure", description=__doc__)
    parser.add_argument("--backend", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--keep-logs", type=Path, help="copy the services' logs here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with running_mesh(
            root, args.backend, PHOTOSHARE_RATE_LIMIT_SCALE="0", PHOTOSHARE_LOG_LEVEL="INFO"
        ) as mesh:
            env = mesh.env
            user_id, token = asyncio.run(seed(env, args.posts, args.followers))
            api = Api(mesh.base_url)
            started = time.perf_counter()
            reply = api.call("DELETE", "/v1/users/me", token=token)
            assert reply.status == 202, reply.body
            hidden_s = time.perf_counter() - started
            eventually(
                lambda: api.call("POST", "/v1/users", {"username": "ada"}).status == 200,
                timeout_s=3600,
            )
            done_s = time.perf_counter() - started
            scans = 0
            while True:
                scans += 1
                scan_started = time.perf_counter()
                found, _ = verify(Settings.from_env(env), user_id)
                scan_s = time.perf_counter() - scan_started
                if not found:
                    break
                if time.perf_counter() - started > 600:
                    raise AssertionError(f"still {len(found)} traces after 10 min: {found[:5]}")
            clean_s = time.perf_counter() - started
        if args.keep_logs:
            shutil.copytree(root / "logs", args.keep_logs, dirs_exist_ok=True)
        graph_log = (root / "logs" / "graph_svc.log").read_text()
        steps = STEP_LINE.findall(graph_log)
        stopped = failed_steps(graph_log)
    print(
        f"{args.backend}: erasing {args.posts} posts and {args.followers} followers: "
        f"hidden (202) in {hidden_s * 1000:.0f} ms, every step done in {done_s:.1f} s, "
        f"nothing left (scan {scans}, {scan_s:.1f} s each) at {clean_s:.1f} s"
    )
    print("steps: " + ", ".join(f"{step} {float(took):.1f} s" for step, took in steps))
    for line in stopped:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

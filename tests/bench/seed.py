"""Seeds a social graph with a power-law follower distribution through the services' own RPCs."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import aiohttp
from photoshare.graph.v1 import graph_service_pb2 as gpb
from photoshare.graph.v1 import graph_service_pb2_grpc as ggrpc
from photoshare.media.v1 import media_pb2
from photoshare.post.v1 import post_service_pb2 as ppb
from photoshare.post.v1 import post_service_pb2_grpc as pgrpc

from common.mesh_auth import MeshCredentials
from common.metadata import as_caller
from common.server import insecure_channel

T = TypeVar("T")
X = TypeVar("X")


@dataclass
class Graph:
    users: list[int] = field(default_factory=list)
    tokens: dict[int, str] = field(default_factory=dict)
    followers: dict[int, set[int]] = field(default_factory=dict)
    author10: int = 0
    author5000: int = 0
    celebrities: list[int] = field(default_factory=list)

    def followees_of(self, user: int) -> list[int]:
        return [a for a, fans in self.followers.items() if user in fans]

    def pushed_writes_per_post(self, authors: Iterable[int], threshold: int) -> float:
        """Timeline writes one post costs on average: followers below the threshold, plus one
        for the author's own timeline."""
        counts = [len(self.followers.get(a, ())) for a in authors]
        return sum((c if c < threshold else 0) + 1 for c in counts) / max(1, len(counts))


async def bounded(
    call: Callable[[X], Awaitable[T]], items: Iterable[X], concurrency: int
) -> list[T]:
    """call(item) for every item, at most `concurrency` at once."""
    gate = asyncio.Semaphore(concurrency)

    async def run(item: X) -> T:
        async with gate:
            return await call(item)

    return await asyncio.gather(*(run(i) for i in items))


async def seed_graph(
    graph_addr: str,
    credentials: MeshCredentials,
    *,
    users: int,
    celebrities: int,
    celebrity_followers: int,
    big_author_followers: int,
    rng: random.Random,
) -> Graph:
    graph = Graph()
    async with insecure_channel(graph_addr, credentials) as channel:
        stub = ggrpc.GraphServiceStub(channel)

        run = f"{rng.getrandbits(24):06x}"

        async def sign_up(i: int) -> tuple[int, str]:
            request = gpb.CreateUserRequest(username=f"b{run}_{i}")
            reply = await stub.CreateUser(request, timeout=30)
            return reply.user.id, reply.token

        made = await bounded(sign_up, range(users), 64)
        graph.users = [u for u, _ in made]
        graph.tokens = dict(made)
        pool = graph.users
        graph.author10, graph.author5000 = pool[0], pool[1]
        graph.celebrities = pool[2 : 2 + celebrities]
        wanted = {graph.author10: 10, graph.author5000: min(big_author_followers, users - 1)}
        for celebrity in graph.celebrities:
            wanted[celebrity] = min(celebrity_followers, users - 1)
        for user in pool[2 + celebrities :]:
            # Followers per user from a power law (Pareto, alpha 1.5): most have a handful.
            wanted[user] = min(int(rng.paretovariate(1.5)) + 1, 200)
        edges = []
        for author, count in wanted.items():
            fans = set(rng.sample(pool, count + 1)) - {author}
            graph.followers[author] = set(list(fans)[:count])
            edges += [(fan, author) for fan in graph.followers[author]]

        async def follow(fan: int, author: int) -> None:
            await stub.Follow(
                gpb.FollowRequest(followed_id=author), metadata=as_caller(fan), timeout=30
            )

        await bounded(lambda edge: follow(*edge), edges, 64)
    return graph


async def post_photo(
    post_addr: str,
    credentials: MeshCredentials,
    session: aiohttp.ClientSession,
    author: int,
    photo: bytes,
    content_type: str = "image/jpeg",
) -> tuple[int, float]:
    """Creates a post and uploads its photo or clip; returns the post id and when the upload
    ended."""
    kind = (
        media_pb2.MEDIA_TYPE_VIDEO
        if content_type.startswith("video/")
        else media_pb2.MEDIA_TYPE_PHOTO
    )
    async with insecure_channel(post_addr, credentials) as channel:
        stub = pgrpc.PostServiceStub(channel)
        spec = ppb.MediaSpec(type=kind, content_type=content_type, size_bytes=len(photo))
        reply = await stub.CreatePost(
            ppb.CreatePostRequest(caption="bench", media=spec),
            metadata=as_caller(author),
            timeout=30,
        )
    async with session.put(reply.upload.url, data=photo) as response:
        if response.status >= 400:
            raise AssertionError(f"upload answered {response.status}: {await response.text()}")
    return reply.post.id, asyncio.get_running_loop().time()


def sample_photo(path: Path) -> bytes:
    return path.read_bytes()


_copies = itertools.count()


def unique_copy(data: bytes) -> bytes:
    """The same picture in bytes never uploaded before, so dedupe cannot shortcut it: a JPEG
    gains a comment segment, an ISO media file (HEIC, MOV) a trailing `free` box."""
    tag = f"bench copy {next(_copies)} {time.time_ns()}".encode()
    if data.startswith(b"\xff\xd8"):
        return data[:2] + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag + data[2:]
    return data + (len(tag) + 8).to_bytes(4, "big") + b"free" + tag

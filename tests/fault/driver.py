"""Load through the gateway of a mesh on the cluster, every acknowledged write remembered.

Writers sign up, follow, and post photos (the post created, then its bytes uploaded); readers
read home feeds. Each request is counted in the phase it started in (which node was down),
with its outcome and, for feed reads, its latency. Afterwards `lost_writes` reads every
acknowledged write back through the API.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.bench.seed import unique_copy

REQUEST_TIMEOUT_S = 10.0


@dataclass
class Phase:
    name: str
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    outcomes: Counter[str] = field(default_factory=Counter)  # "<kind> <status>"
    feed_ms: list[float] = field(default_factory=list)

    def record(self, kind: str, status: int | str) -> None:
        self.outcomes[f"{kind} {status}"] += 1


@dataclass
class Acknowledged:
    users: dict[str, str] = field(default_factory=dict)  # id -> token
    follows: set[tuple[str, str]] = field(default_factory=set)  # (follower, followed)
    posts: dict[str, str] = field(default_factory=dict)  # post id -> author id
    uploads: set[str] = field(default_factory=set)  # post ids whose bytes were accepted


class Load:
    """Example:
    load = Load("http://127.0.0.1:8080", photo)
    running = asyncio.create_task(load.run(writers=3, readers=3))
    load.begin("cassandra-3 down") ...; load.stop(); await running
    """

    def __init__(self, base_url: str, photo: bytes) -> None:
        self._base = base_url
        self._photo = photo
        self.acked = Acknowledged()
        self.phases: list[Phase] = [Phase("before any fault")]
        self._stopping = asyncio.Event()
        self._names = itertools.count()
        self._run_id = f"{random.randrange(36**4):04x}"

    def begin(self, name: str) -> None:
        """Requests from now on count in a new phase."""
        self.phases[-1].ended = time.monotonic()
        self.phases.append(Phase(name))

    def stop(self) -> None:
        self.phases[-1].ended = time.monotonic()
        self._stopping.set()

    async def run(self, writers: int, readers: int) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await asyncio.gather(
                *(self._loop(http, self._write, 0.25) for _ in range(writers)),
                *(self._loop(http, self._read, 0.05) for _ in range(readers)),
            )

    async def _loop(
        self,
        http: aiohttp.ClientSession,
        step: Callable[[aiohttp.ClientSession], Awaitable[None]],
        pause_s: float,
    ) -> None:
        while not self._stopping.is_set():
            await step(http)
            await asyncio.sleep(pause_s)  # pacing: a steady load, not the most the mesh takes

    async def _call(
        self,
        http: aiohttp.ClientSession,
        kind: str,
        method: str,
        url: str,
        *,
        token: str | None = None,
        body: Any = None,
        data: bytes | None = None,
    ) -> tuple[int, Any]:
        """(status, JSON body or None); the outcome counts in the phase it started in."""
        phase = self.phases[-1]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.perf_counter()
        try:
            async with http.request(
                method,
                url if url.startswith("http") else self._base + url,
                json=body,
                data=data,
                headers=headers,
            ) as reply:
                payload = await reply.json() if reply.content_type == "application/json" else None
                status: int | str = reply.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            phase.record(kind, type(exc).__name__)
            return 0, None
        if kind == "feed" and status == 200:
            phase.feed_ms.append((time.perf_counter() - started) * 1000)
        phase.record(kind, status)
        return int(status), payload

    async def _write(self, http: aiohttp.ClientSession) -> None:
        users = list(self.acked.users.items())
        if len(users) < 3 or random.random() < 0.3:
            await self._sign_up(http)
        elif random.random() < 0.5:
            (follower, token), (followed, _) = random.sample(users, 2)
            status, _ = await self._call(
                http, "follow", "POST", "/v1/follows", token=token, body={"followedId": followed}
            )
            if status == 200:
                self.acked.follows.add((follower, followed))
        else:
            await self._post(http, *random.choice(users))

    async def _sign_up(self, http: aiohttp.ClientSession) -> None:
        name = f"f{self._run_id}_{next(self._names)}"
        body = {"username": name}
        status, reply = await self._call(http, "sign-up", "POST", "/v1/users", body=body)
        if status == 200:
            self.acked.users[reply["user"]["id"]] = reply["token"]

    async def _post(self, http: aiohttp.ClientSession, author: str, token: str) -> None:
        photo = unique_copy(self._photo)
        media = {"type": "PHOTO", "contentType": "image/jpeg", "sizeBytes": str(len(photo))}
        status, reply = await self._call(
            http, "post", "POST", "/v1/posts", token=token, body={"media": media}
        )
        if status != 200:
            return
        post_id = reply["post"]["id"]
        self.acked.posts[post_id] = author
        status, _ = await self._call(http, "upload", "PUT", reply["upload"]["url"], data=photo)
        if status == 202:
            self.acked.uploads.add(post_id)

    async def _read(self, http: aiohttp.ClientSession) -> None:
        if not self.acked.users:
            return
        token = random.choice(list(self.acked.users.values()))
        await self._call(http, "feed", "GET", "/v1/feed?limit=20", token=token)


async def lost_writes(
    base_url: str, acked: Acknowledged, settle_s: float = 180.0
) -> dict[str, list[str]]:
    """Every acknowledged write read back: what is missing, by kind. A post whose bytes were
    accepted must end PUBLISHED (waited for up to `settle_s`: the media pipeline may be
    catching up)."""
    lost: dict[str, list[str]] = {"users": [], "follows": [], "posts": [], "published": []}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    any_token = next(iter(acked.users.values()), "")
    async with aiohttp.ClientSession(base_url, timeout=timeout) as http:

        async def get(path: str, token: str = any_token) -> Any:
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(path, headers=headers) as reply:
                return await reply.json() if reply.status == 200 else None

        for user_id in acked.users:
            if await get(f"/v1/users/{user_id}") is None:
                lost["users"].append(user_id)
        following: dict[str, set[str]] = {}
        for follower, followed in sorted(acked.follows):
            if follower not in following:
                following[follower] = await _following(get, follower)
            if followed not in following[follower]:
                lost["follows"].append(f"{follower}->{followed}")
        deadline = time.monotonic() + settle_s
        for post_id, author in acked.posts.items():
            token = acked.users.get(author, any_token)
            while True:
                reply = await get(f"/v1/posts/{post_id}", token)
                state = reply["post"]["state"] if reply else None
                if reply is None:
                    lost["posts"].append(post_id)
                    break
                if post_id not in acked.uploads or state == "POST_STATE_PUBLISHED":
                    break
                if time.monotonic() > deadline:
                    lost["published"].append(f"{post_id} ({state})")
                    break
                await asyncio.sleep(0.5)  # waiting for the media pipeline, with a deadline
    return lost


async def _following(get: Callable[[str], Awaitable[Any]], user_id: str) -> set[str]:
    found: set[str] = set()
    token = ""
    while True:
        page = await get(f"/v1/users/{user_id}/following?pageSize=100&pageToken={token}")
        if page is None:
            return found
        found.update(u["id"] for u in page.get("users", ()))
        token = page.get("nextPageToken", "")
        if not token:
            return found


def sample_photo(samples: Path) -> bytes:
    return (samples / "orientation" / "Landscape_1.jpg").read_bytes()

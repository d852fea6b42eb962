"""The whole mesh as real processes, driven over REST like any client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from deploy.local import Mesh, free_port_block
from tests import servers

CELEBRITY_THRESHOLD = 3
TIMELINE_MAX_LEN = 12
# HTTP, media HTTP and the four services' first replicas.
MESH_PORTS = 6
# A web app on another origin that the mesh lets call it from a browser (CORS).
WEB_APP_ORIGIN = "http://app.photoshare.test:5173"
T = TypeVar("T")


BACKENDS = ["embedded", pytest.param("production", marks=pytest.mark.production)]


def mesh_env(data_dir: Path, backend: str = "embedded") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSHARE_")}
    # Every port of the mesh in one block the kernel does not hand to client sockets.
    ports = free_port_block(MESH_PORTS)
    env.update(
        {
            "PHOTOSHARE_DATA_DIR": str(data_dir),
            "PHOTOSHARE_HTTP_PORT": str(ports),
            "PHOTOSHARE_MEDIA_HTTP_PORT": str(ports + 1),
            "PHOTOSHARE_GRAPH_ADDR": f"127.0.0.1:{ports + 2}",
            "PHOTOSHARE_POST_ADDR": f"127.0.0.1:{ports + 3}",
            "PHOTOSHARE_MEDIA_ADDR": f"127.0.0.1:{ports + 4}",
            "PHOTOSHARE_FEED_ADDR": f"127.0.0.1:{ports + 5}",
            # deploy.local gives each process a metrics port from a free block; a process a
            # test starts by itself beside the mesh serves none.
            "PHOTOSHARE_METRICS_PORT": "0",
            # Held still: the e2e tests make a celebrity with three followers.
            "PHOTOSHARE_CELEBRITY_THRESHOLD": str(CELEBRITY_THRESHOLD),
            "PHOTOSHARE_CELEBRITY_THRESHOLD_MIN": str(CELEBRITY_THRESHOLD),
            "PHOTOSHARE_CELEBRITY_THRESHOLD_MAX": str(CELEBRITY_THRESHOLD),
            "PHOTOSHARE_TIMELINE_MAX_LEN": str(TIMELINE_MAX_LEN),
            "PHOTOSHARE_LOG_LEVEL": os.environ.get("PHOTOSHARE_TEST_LOG_LEVEL", "WARNING"),
            # The whole suite signs up hundreds of users from one address: limits stay on,
            # raised; test_limits.py runs a mesh with them tight.
            "PHOTOSHARE_RATE_LIMIT_SCALE": "100",
            "PHOTOSHARE_ERASURE_GRACE_S": "0",  # an erased username is free at once
            "PHOTOSHARE_CORS_ORIGINS": WEB_APP_ORIGIN,
            # A live stream's heartbeat seen within a test's patience.
            "PHOTOSHARE_STREAM_HEARTBEAT_S": "1",
        }
    )
    if backend == "production":
        servers.require("Cassandra", servers.CASSANDRA_PORT)
        servers.require_redis()
        servers.require_kafka()
        servers.require_s3()
        run = uuid.uuid4().hex[:8]
        env.update(
            {
                "PHOTOSHARE_BACKEND": "production",
                "PHOTOSHARE_CASSANDRA_KEYSPACE": f"photoshare_e2e_{run}",
                "PHOTOSHARE_KAFKA_TOPIC_PREFIX": f"e2e{run}.",
                "PHOTOSHARE_REDIS_PREFIX": f"e2e{run}:",
                "PHOTOSHARE_S3_BUCKET": servers.bucket_name(f"e2e{run}"),
                "PHOTOSHARE_KAFKA_PARTITIONS": "2",
            }
        )
    return env


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A REST client as thin as curl."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        url = path if path.startswith("http") else self.base_url + path
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return Reply(reply.status, dict(reply.headers), reply.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, dict(exc.headers), exc.read())

    def ok(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> Any:
        reply = self.call(method, path, body, token=token)
        assert reply.status == 200, (method, path, reply.status, reply.body)
        return reply.json()

    def sign_up(self, username: str) -> tuple[str, str]:
        created = self.ok("POST", "/v1/users", {"username": username})
        return created["user"]["id"], created["token"]

    def create_post(
        self,
        token: str,
        photo: Path,
        content_type: str = "image/jpeg",
        caption: str = "",
        media_type: str = "PHOTO",
    ) -> dict[str, Any]:
        created: dict[str, Any] = self.ok(
            "POST",
            "/v1/posts",
            {
                "caption": caption,
                "media": {
                    "type": media_type,
                    "contentType": content_type,
                    "sizeBytes": str(photo.stat().st_size),
                },
            },
            token=token,
        )
        return created

    def post_photo(
        self,
        token: str,
        photo: Path,
        content_type: str = "image/jpeg",
        caption: str = "",
        media_type: str = "PHOTO",
    ) -> str:
        """Creates a post, uploads the file, and waits until it leaves PENDING_MEDIA."""
        created = self.create_post(token, photo, content_type, caption, media_type)
        put = self.call(
            "PUT",
            created["upload"]["url"],
            data=photo.read_bytes(),
            headers={"Content-Type": content_type},
        )
        assert put.status == 202, put.body
        post_id: str = created["post"]["id"]
        self.wait_until_settled(token, post_id)
        return post_id

    def wait_until_settled(self, token: str, post_id: str, timeout_s: float = 30.0) -> Any:
        """The post once it is PUBLISHED or FAILED."""

        def settled() -> Any:
            post = self.ok("GET", f"/v1/posts/{post_id}", token=token)["post"]
            return post if post["state"] != "POST_STATE_PENDING_MEDIA" else None

        return eventually(settled, timeout_s)

    def feed_ids(self, token: str, limit: int = 100) -> list[str]:
        return [p["id"] for p in self.ok("GET", f"/v1/feed?limit={limit}", token=token)["posts"]]


def run_erasure_command(mesh: Mesh, command: str, user_id: str) -> subprocess.CompletedProcess[str]:
    """`python -m deploy.erasure` as an operator runs it against this mesh."""
    return subprocess.run(
        [sys.executable, "-m", "deploy.erasure", command, user_id],
        env=mesh.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def eventually(check: Callable[[], T], timeout_s: float = 15.0) -> T:
    """Polls until `check` returns something truthy; no fixed sleeps."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s: {check}")
        time.sleep(0.02)


@pytest.fixture(scope="session", params=BACKENDS)
def mesh(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Mesh]:
    root = tmp_path_factory.mktemp(f"mesh-{request.param}")
    env = mesh_env(root / "data", request.param)
    if request.param == "production":
        env["PHOTOSHARE_REPLICAS"] = "2"  # the suite runs against two of every process
    running = Mesh(env, log_dir=root / "logs")
    running.start()
    try:
        running.wait_healthy()
        yield running
    finally:
        running.stop()
        cleanup_servers(running.env)


def cleanup_servers(env: dict[str, str]) -> None:
    """A production run leaves no keyspace, topics or bucket behind on the shared servers."""
    if env.get("PHOTOSHARE_BACKEND") == "production":
        servers.drop_keyspace(env["PHOTOSHARE_CASSANDRA_KEYSPACE"])
        servers.drop_topics(env["PHOTOSHARE_KAFKA_TOPIC_PREFIX"])
        servers.drop_bucket_now(env["PHOTOSHARE_S3_BUCKET"])


@pytest.fixture(scope="session")
def api(mesh: Mesh) -> Api:
    return Api(mesh.base_url)


_counter = iter(range(1_000_000))


@pytest.fixture
def username() -> Callable[[str], str]:
    """Unique usernames across the session's shared mesh."""
    return lambda prefix: f"{prefix}{os.getpid() % 1000}_{next(_counter)}"

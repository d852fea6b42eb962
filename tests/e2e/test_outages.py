"""A production backend losing a server: the mesh degrades instead of failing.

Each test runs its own Redis or Kafka (the shared servers stay up for the rest of the suite),
stops it in the middle of real traffic, checks what people still get, starts it again and
checks that what happened meanwhile was finished.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from deploy.local import Mesh
from tests import servers
from tests.e2e.conftest import Api, cleanup_servers, eventually, mesh_env

pytestmark = [pytest.mark.e2e, pytest.mark.production]

# What "no timeout per request" means here: well under the gateway's deadline (5 s), which a
# request waiting on a dead server would run into. (Latency itself: `python -m tests.bench.outage`.)
DEGRADED_READ_BOUND_S = 2.5


@pytest.fixture
def photo(samples: Path) -> Path:
    return samples / "orientation" / "Landscape_1.jpg"


@pytest.fixture
def mesh_with(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The production environment of a mesh; the test points it at its own server."""
    env = mesh_env(tmp_path / "data", "production")
    yield env
    cleanup_servers(env)


def start(env: dict[str, str], logs: Path) -> Mesh:
    mesh = Mesh(env, log_dir=logs)
    mesh.start()
    try:
        mesh.wait_healthy()
    except BaseException:
        mesh.stop()
        raise
    return mesh


def before_the_outage(api: Api, photo: Path) -> tuple[list[tuple[str, str]], str]:
    """Ada, Bob and Carol (id and token each); Bob follows Ada and has her first post."""
    people = [api.sign_up(name) for name in ("ada", "bob", "carol")]
    (ada_id, ada), (_, bob), _ = people
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    first = api.post_photo(ada, photo)
    eventually(lambda: api.feed_ids(bob) == [first])
    return people, first


def like_count(api: Api, token: str, post_id: str) -> int:
    return int(api.ok("GET", f"/v1/posts/{post_id}", token=token)["post"].get("likeCount", 0))


def test_the_feed_follows_and_likes_work_while_redis_is_down(
    tmp_path: Path, photo: Path, mesh_with: dict[str, str]
) -> None:
    port = servers.stable_port()
    own_redis = servers.own_redis(port, tmp_path / "redis")
    own_redis.start()
    mesh_with["PHOTOSHARE_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    mesh = start(mesh_with, tmp_path / "logs")
    client = redis.Redis(port=port)
    prefix = mesh_with["PHOTOSHARE_REDIS_PREFIX"]

    def timeline_key(user_id: str) -> str:
        return f"{prefix}tl:{{{user_id}}}"

    try:
        api = Api(mesh.base_url)
        people, first = before_the_outage(api, photo)
        (ada_id, ada), (bob_id, bob), (carol_id, carol) = people
        assert client.exists(timeline_key(bob_id))  # served from Redis so far

        own_redis.stop()
        for _ in range(10):
            started = time.monotonic()
            assert api.feed_ids(bob) == [first]  # pulled from Cassandra
            assert time.monotonic() - started < DEGRADED_READ_BOUND_S
        second = api.post_photo(ada, photo)  # fan-out cannot push it: the read pulls it
        eventually(lambda: api.feed_ids(bob) == [second, first])
        api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=carol)
        assert api.feed_ids(carol) == [second, first]
        api.ok("POST", f"/v1/posts/{second}/likes", {}, token=carol)
        api.ok("POST", f"/v1/posts/{second}/comments", {"text": "still here"}, token=carol)
        api.ok("DELETE", f"/v1/follows/{ada_id}", token=bob)
        assert api.feed_ids(bob) == []  # hidden at once: the following cache is bypassed

        own_redis.start()  # empty: everything in it is rebuilt or redone
        eventually(lambda: like_count(api, ada, second) == 1)  # the waiting event counted it
        # Once the feed's circuit has closed again, a read builds Carol's timeline in Redis.
        eventually(
            lambda: api.feed_ids(carol) == [second, first] and client.exists(timeline_key(carol_id))
        )
        api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
        # A new followee's posts are promised within seconds (the backfill is an event), not
        # in the follow's own response; under CI load one read came before them.
        eventually(lambda: api.feed_ids(bob) == [second, first])
        third = api.post_photo(ada, photo)
        eventually(lambda: api.feed_ids(carol) == [third, second, first])
    finally:
        client.close()
        mesh.stop()
        own_redis.stop()


def test_posts_and_follows_are_accepted_while_kafka_is_down_and_delivered_after(
    tmp_path: Path, photo: Path, mesh_with: dict[str, str]
) -> None:
    port = servers.stable_port()
    own_kafka = servers.own_kafka(port, servers.stable_port(), tmp_path / "kafka")
    own_kafka.start()
    mesh_with["PHOTOSHARE_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{port}"
    mesh = start(mesh_with, tmp_path / "logs")
    try:
        api = Api(mesh.base_url)
        people, first = before_the_outage(api, photo)
        (ada_id, ada), (_, bob), (_, carol) = people

        own_kafka.stop()
        started = time.monotonic()
        api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=carol)
        created = api.create_post(ada, photo, caption="while Kafka was down")
        put = api.call("PUT", created["upload"]["url"], data=photo.read_bytes())
        assert put.status == 202, put.body
        api.ok("POST", f"/v1/posts/{first}/likes", {}, token=carol)
        # Answered without waiting for the broker: its outbox kept the events.
        assert time.monotonic() - started < 10
        second = created["post"]["id"]

        own_kafka.start()

        # kafka-python reconnects with a growing backoff (up to about 30 s), and a call may
        # time out while the clients reconnect: the outcome is awaited, not each answer.
        def answered(path: str, token: str) -> Any:
            reply = api.call("GET", path, token=token)
            return reply.json() if reply.status == 200 else {}

        def published() -> bool:
            post = answered(f"/v1/posts/{second}", ada).get("post", {})
            return bool(post.get("state") == "POST_STATE_PUBLISHED")

        def feed_of(token: str) -> list[str]:
            return [p["id"] for p in answered("/v1/feed", token).get("posts", [])]

        def notified() -> bool:
            page = answered("/v1/notifications", ada)
            return len(page.get("notifications", [])) >= 3  # two follows and carol's like

        eventually(published, timeout_s=60)
        eventually(lambda: feed_of(bob) == [second, first], timeout_s=60)
        eventually(lambda: feed_of(carol) == [second, first], timeout_s=60)
        eventually(notified, timeout_s=60)
    finally:
        mesh.stop()
        own_kafka.stop()

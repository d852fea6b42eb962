"""Every process of the mesh serves Prometheus metrics: the standard gRPC families on both
sides of a call, HTTP requests by route, and the event consumers' work and lag."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.local import Mesh
from tests.e2e.conftest import Api, eventually

pytestmark = pytest.mark.e2e
FEED = "photoshare.feed.v1.FeedService"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
METRIC_NAME = re.compile(r"\b[a-z_]+(?:_total|_bucket|_lag|_busy|_workers)\b")


def scrape(mesh: Mesh, module: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of every process of `module` (its replicas summed), by name and labels."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for name, url in mesh.metrics_urls.items():
        if name.partition("-")[0] != module:
            continue
        with urllib.request.urlopen(url, timeout=5) as reply:
            assert reply.headers["Content-Type"].startswith("text/plain")
            text = reply.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                samples[key] = samples.get(key, 0.0) + sample.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


@pytest.fixture(scope="module")
def traffic(api: Api, samples: Path) -> None:
    """What every process gets to count: sign-ups, a follow, a photo posted, fanned out and
    read in a feed, and two refused requests."""
    suffix = uuid.uuid4().hex[:8]
    ada_id, ada = api.sign_up(f"metrics_ada_{suffix}")
    _, bob = api.sign_up(f"metrics_bob_{suffix}")
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    post_id = api.post_photo(ada, samples / "camera" / "Canon_40D.jpg")
    eventually(lambda: post_id in api.feed_ids(bob))
    assert api.call("GET", "/v1/posts/not-a-number", token=bob).status == 400
    assert api.call("GET", "/v1/posts/12345", token=bob).status == 404


@pytest.mark.usefixtures("traffic")
def test_every_process_serves_the_standard_grpc_and_http_metrics(mesh: Mesh) -> None:
    feed = scrape(mesh, "feed_svc")
    served = dict(grpc_type="unary", grpc_service=FEED, grpc_method="GetHomeFeed")
    assert value(feed, "grpc_server_started_total", **served) >= 1
    assert value(feed, "grpc_server_handled_total", **served, grpc_code="OK") >= 1
    assert value(feed, "grpc_server_handling_seconds_count", **served) >= 1
    assert value(feed, "grpc_server_handling_seconds_bucket", **served, le="+Inf") >= 1
    # feed_svc calls post_svc and graph_svc as a client, and consumes the posts topic.
    assert value(feed, "grpc_client_handled_total", grpc_code="OK") >= 1
    assert value(feed, "events_handled_total", topic="posts", outcome="ok") >= 1
    assert value(feed, "event_handling_seconds_count", topic="posts") >= 1
    assert ("event_consumer_lag", frozenset({("group", "feed"), ("topic", "posts")})) in feed
    # What the feed did: fan-out pushed the post to bob, his reads found his timeline.
    assert value(feed, "fanout_timeline_writes_total") >= 1
    assert value(feed, "cache_lookups_total", cache="home_timelines") >= 1

    gateway = scrape(mesh, "gateway")
    assert value(gateway, "grpc_client_handled_total", **served, grpc_code="OK") >= 1
    route = dict(server="gateway", method="GET", route="/v1/feed")
    assert value(gateway, "http_server_requests_total", **route, code="200") >= 1
    assert value(gateway, "http_server_request_duration_seconds_count", **route) >= 1
    # Routes are templates: one series for every post, never one per id.
    bad = dict(server="gateway", route="/v1/posts/{id}", code="400")
    assert value(gateway, "http_server_requests_total", **bad) >= 1

    post = scrape(mesh, "post_svc")
    missing = dict(grpc_service="photoshare.post.v1.PostService", grpc_method="GetPost")
    assert value(post, "grpc_server_handled_total", **missing, grpc_code="NotFound") >= 1
    assert value(post, "grpc_server_handled_total", grpc_method="CreatePost", grpc_code="OK") >= 1

    media = scrape(mesh, "media_svc")
    upload = dict(server="media", method="PUT", route="/uploads/{upload_id}", code="202")
    assert value(media, "http_server_requests_total", **upload) >= 1
    assert value(media, "media_jobs_total", kind="photo", outcome="ok") >= 1
    assert value(media, "media_job_seconds_count", kind="photo") >= 1
    assert value(media, "media_workers") >= 1
    assert ("media_workers_busy", frozenset()) in media
    assert value(scrape(mesh, "graph_svc"), "grpc_server_handled_total", grpc_method="Follow") >= 1


@pytest.mark.usefixtures("traffic")
def test_the_dashboard_shows_only_metrics_the_mesh_serves(mesh: Mesh) -> None:
    served = {
        name
        for module in ("gateway", "graph_svc", "post_svc", "media_svc", "feed_svc")
        for name, _ in scrape(mesh, module)
    }
    dashboard = json.loads((DEPLOY / "grafana" / "photoshare.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in METRIC_NAME.findall(target["expr"])
    }
    assert len(queried) >= 10
    assert queried <= served, queried - served

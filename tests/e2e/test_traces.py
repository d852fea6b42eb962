"""One trace per request across the mesh, carried through the event log, and log lines that
lead to it: a mesh exports its spans over OTLP/HTTP to a receiver in this test, which keeps
them in memory."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from deploy.local import Mesh
from tests.e2e.conftest import BACKENDS, Api, cleanup_servers, eventually, mesh_env

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str


@dataclass
class Receiver:
    """An OTLP/HTTP trace endpoint that keeps what it is sent."""

    spans: list[Span] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                with self.lock:
                    self.spans += [
                        Span(
                            attributes["service.name"],
                            s.name,
                            s.kind,
                            s.trace_id.hex(),
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                        )
                        for s in scope.spans
                    ]

    def services_in(self, trace_id: str) -> set[str]:
        with self.lock:
            return {s.service for s in self.spans if s.trace_id == trace_id}

    def names_in(self, trace_id: str) -> set[tuple[str, str]]:
        with self.lock:
            return {(s.service, s.name) for s in self.spans if s.trace_id == trace_id}


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    kept = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            kept.take(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()
            self.wfile.write(b"")

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield kept, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=BACKENDS)
def traced(
    request: pytest.FixtureRequest,
    receiver: tuple[Receiver, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Mesh, Receiver, Path]]:
    kept, endpoint = receiver
    root = tmp_path_factory.mktemp(f"traced-{request.param}")
    env = mesh_env(root / "data", request.param)
    env["PHOTOSHARE_OTLP_ENDPOINT"] = endpoint
    env["OTEL_BSP_SCHEDULE_DELAY"] = "100"  # export every 0.1 s, not 5 s: the test waits less
    env["PHOTOSHARE_LOG_JSON"] = "1"
    env["PHOTOSHARE_LOG_LEVEL"] = "INFO"
    mesh = Mesh(env, log_dir=root / "logs")
    mesh.start()
    try:
        mesh.wait_healthy()
        yield mesh, kept, root / "logs"
    finally:
        mesh.stop()
        cleanup_servers(mesh.env)


def traceparent() -> tuple[str, dict[str, str]]:
    """A trace started by the client, as a browser's or an edge proxy's would be."""
    trace_id = secrets.token_hex(16)
    return trace_id, {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}


def test_a_feed_read_is_one_trace_across_the_services_it_reaches(
    traced: tuple[Mesh, Receiver, Path],
) -> None:
    mesh, kept, logs = traced
    api = Api(mesh.base_url)
    _, ada = api.sign_up(f"traced{secrets.token_hex(3)}")
    trace_id, headers = traceparent()
    assert api.call("GET", "/v1/feed", token=ada, headers=headers).status == 200

    eventually(lambda: {"gateway", "feed_svc", "graph_svc"} <= kept.services_in(trace_id), 30)
    expected = {
        ("gateway", "GET /v1/feed"),  # named by its route, not its path
        ("feed_svc", "/photoshare.feed.v1.FeedService/GetHomeFeed"),
    }
    eventually(lambda: expected <= kept.names_in(trace_id), 30)

    # The access log line of that request, in JSON with its trace, and no token anywhere.
    def access_line() -> dict[str, object] | None:
        for line in (logs / "gateway.log").read_text().splitlines():
            if line.startswith("{") and trace_id in line and '"route": "/v1/feed"' in line:
                entry: dict[str, object] = json.loads(line)
                return entry
        return None

    entry = eventually(access_line, 10)
    assert entry is not None
    assert entry["logger"] == "photoshare.access"
    assert (entry["http_method"], entry["status"], entry["trace_id"]) == ("GET", 200, trace_id)
    assert entry["user_id"]
    assert isinstance(entry["duration_ms"], float)
    assert all(ada not in path.read_text() for path in logs.glob("*.log"))


def test_a_photo_upload_is_one_trace_from_the_bytes_to_the_feeds(
    traced: tuple[Mesh, Receiver, Path], samples: Path
) -> None:
    mesh, kept, _ = traced
    api = Api(mesh.base_url)
    ada_id, ada = api.sign_up(f"traced{secrets.token_hex(3)}")
    _, bob = api.sign_up(f"traced{secrets.token_hex(3)}")
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    photo = samples / "camera" / "Canon_40D.jpg"
    created = api.create_post(ada, photo)
    trace_id, headers = traceparent()
    put = api.call(
        "PUT",
        created["upload"]["url"],
        data=photo.read_bytes(),
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert put.status == 202
    post_id = created["post"]["id"]
    eventually(lambda: post_id in Api(mesh.base_url).feed_ids(bob), 30)

    # media_svc received and processed it, post_svc published it, feed_svc fanned it out:
    # each handled the event the one before published, in the upload's trace.
    eventually(lambda: {"media_svc", "post_svc", "feed_svc"} <= kept.services_in(trace_id), 30)
    expected = {("post_svc", "process media"), ("feed_svc", "process posts")}
    eventually(lambda: expected <= kept.names_in(trace_id), 30)

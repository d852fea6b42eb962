"""Prometheus metrics of one process: the families every service shares, and the listener
that serves them (`GET /metrics` on `PHOTOSHARE_METRICS_PORT`).

Each process builds one `Metrics` and passes it to what it measures; nothing registers on
prometheus-client's global registry, so tests and several meshes in one process never mix
their counts. The gRPC families are named and labelled as go-grpc-prometheus names them
(`grpc_server_handled_total{grpc_type, grpc_service, grpc_method, grpc_code}` with codes
spelled `OK`, `NotFound`...), so that the dashboards and alerts written for it apply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.aiohttp import make_aiohttp_handler

from common.counting import CacheCounter
from common.http import runner

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# From 1 ms (a cached feed page) to 10 s (past every deadline of the mesh).
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Media jobs run for up to minutes (a video).
JOB_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_GRPC = ("grpc_type", "grpc_service", "grpc_method")


class Metrics:
    """The process's registry and the families of the shared machinery (gRPC, HTTP, events);
    a service adds its own with `counter`, `gauge` and `histogram`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.grpc_server_started = self.counter(
            "grpc_server_started_total", "RPCs started on the server.", _GRPC
        )
        self.grpc_server_handled = self.counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, whatever their status.",
            (*_GRPC, "grpc_code"),
        )
        self.grpc_server_handling = self.histogram(
            "grpc_server_handling_seconds",
            "Time the server took to complete an RPC.",
            _GRPC,
        )
        self.grpc_server_msg_sent = self.counter(
            "grpc_server_msg_sent_total", "Stream messages the server sent.", _GRPC
        )
        self.grpc_client_started = self.counter(
            "grpc_client_started_total", "RPCs started by this process as a client.", _GRPC
        )
        self.grpc_client_handled = self.counter(
            "grpc_client_handled_total",
            "RPCs this process called that completed, whatever their status.",
            (*_GRPC, "grpc_code"),
        )
        self.grpc_client_handling = self.histogram(
            "grpc_client_handling_seconds",
            "Time until an RPC this process called completed.",
            _GRPC,
        )
        self.http_requests = self.counter(
            "http_server_requests_total",
            "HTTP requests answered, by route template and status.",
            ("server", "method", "route", "code"),
        )
        self.http_duration = self.histogram(
            "http_server_request_duration_seconds",
            "Time until an HTTP request's answer was ready (its body may stream on).",
            ("server", "method", "route"),
        )
        self.events_handled = self.counter(
            "events_handled_total",
            "Events a consumer group handled, by outcome (ok, or error: retried or set aside).",
            ("group", "topic", "outcome"),
        )
        self.event_handling = self.histogram(
            "event_handling_seconds",
            "Time a consumer took to handle one event.",
            ("group", "topic"),
        )
        self.cache_lookups = self.counter(
            "cache_lookups_total",
            "Keys looked up in a cache, found (hit) or not (miss).",
            ("cache", "result"),
        )
        self.event_lag = self.gauge(
            "event_consumer_lag",
            "Events published that the consumer group has not handled yet.",
            ("group", "topic"),
        )

    def cache(self, name: str) -> CacheCounter:
        """The hits and misses of one cache (`cache_lookups_total{cache, result}`; the hit
        ratio is hits over both)."""
        return _CacheCounts(
            self.cache_lookups.labels(name, "hit"), self.cache_lookups.labels(name, "miss")
        )

    def report_lag(self, group: str, topic: str, behind: int) -> None:
        """What an event subscriber calls every few seconds (common/events/base.py)."""
        self.event_lag.labels(group, topic).set(behind)

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    def histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS_S,
    ) -> Histogram:
        return Histogram(name, documentation, labels, registry=self.registry, buckets=buckets)

    def http_middleware(self, server: str) -> Middleware:
        """Counts and times every request of an aiohttp application named `server`. The route
        label is the template (`/v1/posts/{id}`), never the path: ids would make a series per
        post. A handler that knows a finer template than aiohttp's sets `request["route"]`."""

        @web.middleware
        async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.perf_counter()
            code = 500
            try:
                response = await handler(request)
                code = response.status
                return response
            except web.HTTPException as exc:
                code = exc.status
                raise
            finally:
                route = request.get("route") or _resource_template(request)
                self.http_requests.labels(server, request.method, route, str(code)).inc()
                self.http_duration.labels(server, request.method, route).observe(
                    time.perf_counter() - started
                )

        return measure


@dataclass(frozen=True, slots=True)
class _CacheCounts:
    """A CacheCounter (common/counting.py) over one cache's two series."""

    hits: Counter
    misses: Counter

    def count(self, hits: int, misses: int) -> None:
        if hits:
            self.hits.inc(hits)
        if misses:
            self.misses.inc(misses)


def _resource_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


class MetricsListener:
    """`GET /metrics` in Prometheus's text format on its own port, opened first and closed
    last with the service (port 0: no listener)."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._metrics, self._host, self._port = metrics, host, port
        self._runner: web.AppRunner | None = None

    async def open(self) -> None:
        if not self._port:
            return
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(self._metrics.registry))
        self._runner = runner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("metrics on http://%s:%d/metrics", self._host, self._port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

"""OpenTelemetry traces: one trace from a REST request through every service it reaches,
carried across the event log (W3C trace context in each event's headers) into fan-out and
media processing.

Off by default: with no `PHOTOSHARE_OTLP_ENDPOINT` no provider is installed, and the API's
no-op tracer costs next to nothing. With one, each process exports its spans in batches to
that OTLP/HTTP endpoint (an OpenTelemetry Collector, Jaeger, Tempo...) from a background
thread. Which requests are recorded is decided once, where they enter (EdgeSampling), and
everything they cause follows that choice.
"""

from __future__ import annotations

import contextlib
import random
import socket
import warnings
from collections.abc import Iterator, Mapping, Sequence

import grpc
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.aiohttp_server import (
    AioHttpServerInstrumentor,
    create_aiohttp_middleware,
)
from opentelemetry.instrumentation.grpc import (
    aio_client_interceptors,
    aio_server_interceptor,
    filters,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import SpanKind

from common.settings import Settings

Headers = tuple[tuple[str, str], ...]
_TRACER = "photoshare"


def configure_tracing(settings: Settings, service: str) -> TracerProvider | None:
    """Installs this process's tracer provider when an endpoint is configured; None when
    tracing is off. Spans still queued are flushed when the process exits."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    resource = Resource.create(
        {
            "service.name": service,
            "service.namespace": "photoshare",
            "service.instance.id": settings.instance_id or socket.gethostname(),
        }
    )
    provider = TracerProvider(resource=resource, sampler=FOLLOW_THE_EDGE)
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    # Instrumentations that are not handed the provider (and the spans below) find it here.
    trace.set_tracer_provider(provider)
    return provider


class EdgeSampling:
    """Which requests are recorded, decided once where a trace starts: the HTTP edge (the
    gateway, media_svc's uploads and media). A request that brings a `traceparent` keeps its
    caller's choice; any other is recorded at `ratio`. Only a recorded request goes through
    the instrumentations at all: for the others they would still build attributes and spans
    that nothing records (at a 1 % ratio that was 15-20 % of a feed read's CPU, now 3 %:
    docs/capacity.md)."""

    def __init__(self, ratio: float, rng: random.Random | None = None) -> None:
        self._ratio = ratio
        self._rng = rng or random.Random()

    def records(self, headers: Mapping[str, str]) -> bool:
        traceparent = headers.get("traceparent")
        if traceparent is not None:
            return _sampled(traceparent)
        return self._ratio > 0 and self._rng.random() < self._ratio


# Past the edge every span follows its parent, across processes too (W3C trace flags), so a
# trace is recorded whole or not at all; the edge's own root spans are recorded, since only
# the requests EdgeSampling chose reach the instrumentation.
FOLLOW_THE_EDGE: Sampler = ParentBased(ALWAYS_ON)


def http_middleware(provider: TracerProvider | None, ratio: float) -> Middleware | None:
    """The aiohttp instrumentation's SERVER span around the requests EdgeSampling records;
    None when tracing is off."""
    if provider is None:
        return None
    # The instrumentor sets up what its middleware reads (excluded URLs, semantic conventions,
    # its meters); its patch of web.Application, which would trace every request, is undone.
    instrumentor = AioHttpServerInstrumentor()
    with warnings.catch_warnings():  # aiohttp frowns on the subclass the patch is made of
        warnings.simplefilter("ignore", DeprecationWarning)
        instrumentor.instrument(tracer_provider=provider)
    instrumentor.uninstrument()
    traced = create_aiohttp_middleware(tracer_provider=provider)
    sampling = EdgeSampling(ratio)

    @web.middleware
    async def record_some(request: web.Request, handler: Handler) -> web.StreamResponse:
        if sampling.records(request.headers):
            response: web.StreamResponse = await traced(request, handler)
            return response
        return await handler(request)

    return record_some


def _sampled(traceparent: str) -> bool:
    """Whether a W3C `traceparent` (version-trace-span-flags) says its trace is recorded."""
    flags = traceparent.rpartition("-")[2]
    if len(flags) != 2 or not all(c in "0123456789abcdef" for c in flags):
        return False
    return bool(int(flags, 16) & 1)


def _recorded_by_caller(details: grpc.HandlerCallDetails) -> bool:
    for key, value in details.invocation_metadata or ():
        if key == "traceparent":
            return _sampled(value if isinstance(value, str) else value.decode())
    return False


def _recorded_here(details: object) -> bool:
    return trace.get_current_span().is_recording()


# Only the calls of recorded traces get spans. Recording is decided where a trace starts, at
# the edge (the gateway's and media_svc's HTTP), and a call that carries no recorded trace
# gets no span and passes none on: with a small sample ratio the other calls skip the
# instrumentations' work (attributes, wrapped handlers, context). Health checks are never
# traced: they are noise in every trace store, and the instrumentation cannot wrap Watch.
# The cheap test first: all_of stops at the first that fails.
SERVED_IN_A_SPAN = filters.all_of(
    _recorded_by_caller, filters.negate(filters.service_name("grpc.health.v1.Health"))
)
CALLED_IN_A_SPAN = filters.all_of(
    _recorded_here, filters.negate(filters.service_name("grpc.health.v1.Health"))
)


def server_interceptors(provider: TracerProvider | None) -> list[grpc.aio.ServerInterceptor]:
    if provider is None:
        return []
    return [aio_server_interceptor(tracer_provider=provider, filter_=SERVED_IN_A_SPAN)]  # type: ignore[no-untyped-call]


def client_interceptors(provider: TracerProvider | None) -> list[grpc.aio.ClientInterceptor]:
    if provider is None:
        return []
    return list(aio_client_interceptors(tracer_provider=provider, filter_=CALLED_IN_A_SPAN))  # type: ignore[no-untyped-call]


def event_headers() -> Headers:
    """The current trace context, to travel with an event that is being published."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tuple(carrier.items())


@contextlib.contextmanager
def continuing(headers: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Makes the trace context an event was published in current again: an event sent later
    (the outbox's relay, after a broker outage) stays in the trace of the call that made it."""
    token = context.attach(propagate.extract(dict(headers)))
    try:
        yield
    finally:
        context.detach(token)


@contextlib.contextmanager
def consuming(
    topic: str,
    group: str,
    headers: Sequence[tuple[str, str]],
    provider: trace.TracerProvider | None = None,
) -> Iterator[None]:
    """A CONSUMER span for handling one event, in the trace of whoever published it: the
    calls its handler makes join that trace. An event published outside a recorded trace is
    handled outside any (traces start at the edge: see SERVED_IN_A_SPAN)."""
    carrier = dict(headers)
    if not _sampled(carrier.get("traceparent", "")):
        yield
        return
    parent = propagate.extract(carrier)
    tracer = trace.get_tracer(_TRACER, tracer_provider=provider)  # None: the process's
    attributes = {
        "messaging.destination.name": topic,
        "messaging.consumer.group.name": group,
        "messaging.operation.type": "process",
    }
    with tracer.start_as_current_span(
        f"process {topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def name_current_span(name: str) -> None:
    """Renames the span of the request being served (the gateway: its route's template)."""
    trace.get_current_span().update_name(name)

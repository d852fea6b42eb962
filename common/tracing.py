"""OpenTelemetry traces: one trace from a REST request through every service it reaches,
carried across the event log (W3C trace context in each event's headers) into fan-out and
media processing.

Off by default: with no `PHOTOSHARE_OTLP_ENDPOINT` no provider is installed, and the API's
no-op tracer costs next to nothing. With one, each process exports its spans in batches to
that OTLP/HTTP endpoint (an OpenTelemetry Collector, Jaeger, Tempo...) from a background
thread.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Sequence

import grpc
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.grpc import (
    aio_client_interceptors,
    aio_server_interceptor,
    filters,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
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
    provider = TracerProvider(resource=resource)
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    # Instrumentations that are not handed the provider (and the spans below) find it here.
    trace.set_tracer_provider(provider)
    return provider


# Health checks are not traced: they are noise in every trace store, and the instrumentation
# cannot wrap the Watch method (a coroutine that writes, not an async generator).
_NOT_HEALTH = filters.negate(filters.service_name("grpc.health.v1.Health"))


def server_interceptors(provider: TracerProvider | None) -> list[grpc.aio.ServerInterceptor]:
    if provider is None:
        return []
    return [aio_server_interceptor(tracer_provider=provider, filter_=_NOT_HEALTH)]  # type: ignore[no-untyped-call]


def client_interceptors(provider: TracerProvider | None) -> list[grpc.aio.ClientInterceptor]:
    if provider is None:
        return []
    return list(aio_client_interceptors(tracer_provider=provider, filter_=_NOT_HEALTH))  # type: ignore[no-untyped-call]


def event_headers() -> Headers:
    """The current trace context, to travel with an event that is being published."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tuple(carrier.items())


@contextlib.contextmanager
def consuming(topic: str, group: str, headers: Sequence[tuple[str, str]]) -> Iterator[None]:
    """A CONSUMER span for handling one event, in the trace of whoever published it: the
    calls its handler makes join that trace."""
    parent = propagate.extract(dict(headers))
    tracer = trace.get_tracer(_TRACER)
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

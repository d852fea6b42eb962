"""Trace sampling: the edge records a share of the requests, and a trace is recorded whole or
not at all."""

from __future__ import annotations

import random

import grpc
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from common.tracing import (
    FOLLOW_THE_EDGE,
    SERVED_IN_A_SPAN,
    EdgeSampling,
    consuming,
    http_middleware,
)

TRACE_ID, SPAN_ID = 0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7


def remote_parent(sampled: bool) -> Context:
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT)
    parent = trace.SpanContext(TRACE_ID, SPAN_ID, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def test_the_edge_records_a_share_of_new_traces_and_keeps_a_callers_choice() -> None:
    never, always = EdgeSampling(0.0), EdgeSampling(1.0)
    assert not never.records({})
    assert always.records({})
    some = EdgeSampling(0.25, random.Random(7))
    recorded = sum(some.records({}) for _ in range(4_000))
    assert 800 < recorded < 1_200
    # A caller that sends its trace context has decided already, either way.
    assert never.records({"traceparent": f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"})
    assert not always.records({"traceparent": f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-00"})


def test_past_the_edge_a_span_follows_the_choice_made_where_its_trace_started() -> None:
    # A service records a trace the edge chose and none other, so no trace has holes.
    tracer = TracerProvider(sampler=FOLLOW_THE_EDGE).get_tracer("t")
    assert tracer.start_span("call", context=remote_parent(sampled=True)).is_recording()
    assert not tracer.start_span("call", context=remote_parent(sampled=False)).is_recording()
    assert tracer.start_span("request").is_recording()  # the edge's own, once chosen


class Call(grpc.HandlerCallDetails):
    """What a gRPC server interceptor is shown of an incoming call."""

    def __init__(self, *metadata: tuple[str, str | bytes], method: str = "/p.v1.S/M") -> None:
        self.method = method
        self.invocation_metadata = metadata


def test_a_service_serves_in_a_span_only_the_calls_of_recorded_traces() -> None:
    recorded = f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"
    skipped = f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-00"
    assert SERVED_IN_A_SPAN(Call(("traceparent", recorded)))
    assert not SERVED_IN_A_SPAN(Call(("traceparent", skipped)))
    assert not SERVED_IN_A_SPAN(Call())  # no trace: none is started here
    assert not SERVED_IN_A_SPAN(Call(("traceparent", "junk")))
    health = Call(("traceparent", recorded), method="/grpc.health.v1.Health/Check")
    assert not SERVED_IN_A_SPAN(health)


def test_an_event_is_handled_in_a_span_only_when_its_publisher_was_recorded() -> None:
    provider = TracerProvider(sampler=FOLLOW_THE_EDGE)
    recorded = f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"
    with consuming("posts", "feed", (("traceparent", recorded),), provider):
        span = trace.get_current_span()
        assert span.is_recording()
        assert span.get_span_context().trace_id == TRACE_ID
    with consuming("posts", "feed", (), provider):
        assert not trace.get_current_span().is_recording()


async def test_the_http_edge_puts_only_the_requests_it_records_in_spans() -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider(sampler=FOLLOW_THE_EDGE)
    provider.add_span_processor(SimpleSpanProcessor(spans))

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def served(ratio: float, headers: dict[str, str]) -> int:
        traced = http_middleware(provider, ratio)
        assert traced is not None
        app = web.Application(middlewares=[traced])
        app.router.add_get("/hello", hello)
        async with TestClient(TestServer(app)) as client:
            reply = await client.get("/hello", headers=headers)
            assert await reply.text() == "hello"
        return len(spans.get_finished_spans())

    assert await served(0.0, {}) == 0
    assert await served(1.0, {}) == 1
    recorded = f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"
    assert await served(0.0, {"traceparent": recorded}) == 2  # the caller's choice
    assert spans.get_finished_spans()[-1].context.trace_id == TRACE_ID
    assert http_middleware(None, 1.0) is None  # tracing off

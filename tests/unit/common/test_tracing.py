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
from tests.traces import TRACE_ID, TRACEPARENT, UNRECORDED_TRACEPARENT, span_context


def remote_parent(sampled: bool) -> Context:
    parent = span_context(recorded=sampled, remote=True)
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def test_the_edge_records_a_share_of_new_traces_and_keeps_a_callers_choice() -> None:
    never, always = EdgeSampling(0.0), EdgeSampling(1.0)
    assert not never.records({})
    assert always.records({})
    some = EdgeSampling(0.25, random.Random(7))
    recorded = sum(some.records({}) for _ in range(4_000))
    assert 800 < recorded < 1_200
    # A caller that sends its trace context has decided already, either way.
    assert never.records({"traceparent": TRACEPARENT})
    assert not always.records({"traceparent": UNRECORDED_TRACEPARENT})


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
    assert SERVED_IN_A_SPAN(Call(("traceparent", TRACEPARENT)))
    assert not SERVED_IN_A_SPAN(Call(("traceparent", UNRECORDED_TRACEPARENT)))
    assert not SERVED_IN_A_SPAN(Call())  # no trace: none is started here
    assert not SERVED_IN_A_SPAN(Call(("traceparent", "junk")))
    health = Call(("traceparent", TRACEPARENT), method="/grpc.health.v1.Health/Check")
    assert not SERVED_IN_A_SPAN(health)


def test_an_event_is_handled_in_a_span_only_when_its_publisher_was_recorded() -> None:
    provider = TracerProvider(sampler=FOLLOW_THE_EDGE)
    with consuming("posts", "feed", (("traceparent", TRACEPARENT),), provider):
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
    assert await served(0.0, {"traceparent": TRACEPARENT}) == 2  # the caller's choice
    assert spans.get_finished_spans()[-1].context.trace_id == TRACE_ID
    assert http_middleware(None, 1.0) is None  # tracing off

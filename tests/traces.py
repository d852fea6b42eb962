"""One trace for the tests of trace propagation: its ids, its W3C `traceparent` recorded or
not, and a way to publish or call inside it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import trace

TRACE_ID, SPAN_ID = 0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7
# What travels with an event or a call made in it: recorded (flags 01) or not (00).
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
UNRECORDED_TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00"


def span_context(*, recorded: bool = True, remote: bool = False) -> trace.SpanContext:
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if recorded else trace.TraceFlags.DEFAULT)
    return trace.SpanContext(TRACE_ID, SPAN_ID, is_remote=remote, trace_flags=flags)


@contextlib.contextmanager
def in_recorded_trace() -> Iterator[None]:
    """What runs inside is in the trace, as a publisher whose request is recorded is."""
    with trace.use_span(trace.NonRecordingSpan(span_context())):
        yield

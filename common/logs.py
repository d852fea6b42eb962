"""How every process logs: plain lines for a person at a terminal, or JSON objects one per
line (`PHOTOSHARE_LOG_JSON=1`) for a log pipeline, each with the trace and span it was
written in, so that a line leads to its trace and a trace to its lines."""

from __future__ import annotations

import logging

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TraceIds(logging.Filter):
    """Adds `trace_id` and `span_id` (hex, empty outside a span) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        span = trace.get_current_span().get_span_context()
        record.trace_id = format(span.trace_id, "032x") if span.is_valid else ""
        record.span_id = format(span.span_id, "016x") if span.is_valid else ""
        return True


def configure_logging(level: str, *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(TraceIds())
    if json_lines:
        # Fields passed as `extra=` (the access log's) become keys of their own.
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{trace_id}{span_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(PLAIN))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # libvips narrates every resize at INFO.
    logging.getLogger("pyvips").setLevel(logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.WARNING)  # a line per connection otherwise

"""HTTP error bodies and connection limits shared by the gateway and the media endpoints.

Every error is `{"error": {"code": <http status>, "status": "<gRPC code name>",
"message": "...", "details": [...]}}` (the AIP-193 JSON shape), aiohttp's own parser errors
included. What status a domain error gets is said once, by its class in common.errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web, web_protocol, web_request, web_server

from common import errors


def error_response(
    status: str,
    message: str,
    *,
    http_status: int | None = None,
    details: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    code = http_status or errors.http_status_for(status)
    body = {"error": {"code": code, "status": status, "message": message, "details": list(details)}}
    return web.json_response(body, status=code, headers=headers)


def domain_error_response(
    error: errors.PhotoshareError,
    *,
    http_status: int | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """`http_status` overrides the class's own only where a protocol says otherwise (tus)."""
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": error.reason,
            "domain": errors.ERROR_DOMAIN,
            "metadata": error.metadata,
        }
    ]
    return error_response(
        error.code,
        error.message,
        http_status=http_status or error.http_status,
        details=details,
        headers=headers,
    )


# A connection that sends nothing for this long, or its request line and headers too slowly,
# is closed (aiohttp arms its keep-alive timer when a connection opens and between requests).
IDLE_TIMEOUT_S = 5.0
# Near what browsers send: a few dozen headers, none longer than a big cookie.
MAX_HEADERS = 64
MAX_FIELD_SIZE = 8190
MAX_LINE_SIZE = 8190


def runner(app: web.Application) -> web.AppRunner:
    """An AppRunner with Photoshare's connection limits and JSON errors from the parser."""
    return web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=IDLE_TIMEOUT_S,
        max_headers=MAX_HEADERS,
        max_field_size=MAX_FIELD_SIZE,
        max_line_size=MAX_LINE_SIZE,
    )


class _JsonErrorsHandler(web_protocol.RequestHandler):
    """aiohttp answers what its parser refuses (a header too long, too many headers, a bad
    request line) before any middleware runs, as text/plain; this keeps the JSON shape."""

    def handle_error(
        self,
        request: web_request.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)  # keeps aiohttp's logging
        code = "INVALID_ARGUMENT" if plain.status < 500 else "INTERNAL"
        shown = (message or "the request could not be read")[:200]
        answer = error_response(code, shown, http_status=plain.status)
        answer.force_close()
        return answer


# aiohttp's Server builds its handlers from this module global (pinned aiohttp; a test checks
# that a parser error still answers JSON).
web_server.RequestHandler = _JsonErrorsHandler  # type: ignore[attr-defined]

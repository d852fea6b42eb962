"""HTTP error bodies shared by the gateway and the media endpoints.

Every error is `{"error": {"code": <http status>, "status": "<gRPC code name>",
"message": "...", "details": [...]}}` (the AIP-193 JSON shape). What status a domain error
gets is said once, by its class in common.errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

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

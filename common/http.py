"""HTTP error bodies shared by the gateway and the media endpoints.

Every error is `{"error": {"code": <http status>, "status": "<gRPC code name>",
"message": "...", "details": [...]}}` (the AIP-193 JSON shape).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from common import errors

HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}

_DOMAIN_STATUS = {
    errors.InvalidArgument: "INVALID_ARGUMENT",
    errors.NotFound: "NOT_FOUND",
    errors.AlreadyExists: "ALREADY_EXISTS",
    errors.PermissionDenied: "PERMISSION_DENIED",
    errors.Unauthenticated: "UNAUTHENTICATED",
    errors.FailedPrecondition: "FAILED_PRECONDITION",
    errors.Unavailable: "UNAVAILABLE",
}


def error_response(
    status: str,
    message: str,
    *,
    http_status: int | None = None,
    details: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    code = http_status or HTTP_STATUS.get(status, 500)
    body = {"error": {"code": code, "status": status, "message": message, "details": list(details)}}
    return web.json_response(body, status=code, headers=headers)


def domain_error_response(
    error: errors.PhotoshareError, *, http_status: int | None = None
) -> web.Response:
    status = _DOMAIN_STATUS.get(type(error), "UNKNOWN")
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": error.reason,
            "domain": "photoshare.dev",
            "metadata": error.metadata,
        }
    ]
    return error_response(status, error.message, http_status=http_status, details=details)

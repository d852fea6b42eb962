"""Domain errors: raised by plain-Python domain code, translated once at every edge.

Each class says what it means on every edge: its gRPC status code (by name, so that domain
code need not import grpc), its HTTP status and its default machine-readable reason. The
gRPC interceptor, the REST gateway and the media HTTP server all read these attributes; a
new error is one class here.

PhotoshareError
├── InvalidArgument         400  the request is malformed (names the field)
│   ├── PayloadTooLarge     413  more bytes than allowed or declared
│   └── UnsupportedMedia    415  bytes or a body of another type than declared
├── NotFound                404  the thing asked for does not exist
├── AlreadyExists           409  a unique name is taken
├── PermissionDenied        403  the caller may not do this (e.g. a bad upload URL)
├── Unauthenticated         401  no or unknown credentials
├── FailedPrecondition      400  the state does not allow it
│   ├── Conflict            409  another request got there first (sent twice, wrong offset)
│   └── Gone                410  it ended and cannot be used again (a failed upload)
├── MethodNotAllowed        405  the path exists, the HTTP method does not
├── ResourceExhausted       429  a quota of the caller's is used up (e.g. open uploads)
└── Unavailable             503  a dependency is down; retrying may help
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

ERROR_DOMAIN = "photoshare.dev"

# google.rpc.Code name -> HTTP status, as google.rpc.code.proto documents the mapping.
HTTP_STATUS_BY_CODE: Mapping[str, int] = {
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

# The first class declared for a gRPC code (or an HTTP status) is what it translates back to.
_CLASS_BY_CODE: dict[str, type[PhotoshareError]] = {}
_CLASS_BY_HTTP_STATUS: dict[int, type[PhotoshareError]] = {}


class PhotoshareError(Exception):
    """Base of every error a user may see. `message` is written for the person reading it."""

    code: ClassVar[str] = "UNKNOWN"
    http_status: ClassVar[int] = 500
    default_reason: ClassVar[str] = "ERROR"

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "http_status" not in cls.__dict__:
            cls.http_status = HTTP_STATUS_BY_CODE[cls.code]
        if "default_reason" not in cls.__dict__:
            cls.default_reason = cls.code
        _CLASS_BY_CODE.setdefault(cls.code, cls)
        _CLASS_BY_HTTP_STATUS.setdefault(cls.http_status, cls)

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        field: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.field = field
        self.metadata = dict(metadata or {})


class InvalidArgument(PhotoshareError):
    code = "INVALID_ARGUMENT"


class PayloadTooLarge(InvalidArgument):
    http_status = 413


class UnsupportedMedia(InvalidArgument):
    http_status = 415


class NotFound(PhotoshareError):
    code = "NOT_FOUND"


class AlreadyExists(PhotoshareError):
    code = "ALREADY_EXISTS"


class PermissionDenied(PhotoshareError):
    code = "PERMISSION_DENIED"


class Unauthenticated(PhotoshareError):
    code = "UNAUTHENTICATED"


class FailedPrecondition(PhotoshareError):
    code = "FAILED_PRECONDITION"


class Conflict(FailedPrecondition):
    http_status = 409


class ResourceExhausted(PhotoshareError):
    code = "RESOURCE_EXHAUSTED"
    http_status = 429
    default_reason = "RATE_LIMITED"


class Gone(FailedPrecondition):
    http_status = 410


class MethodNotAllowed(PhotoshareError):
    code = "UNIMPLEMENTED"
    http_status = 405


class Unavailable(PhotoshareError):
    code = "UNAVAILABLE"


def error_class_for(code: str) -> type[PhotoshareError] | None:
    """The error a gRPC status code (by name) stands for, or None for codes that are not
    domain errors (INTERNAL, DEADLINE_EXCEEDED...)."""
    return _CLASS_BY_CODE.get(code)


def error_class_for_http_status(status: int) -> type[PhotoshareError] | None:
    """The error an HTTP status stands for (the web framework's own 404, 405, 413...)."""
    return _CLASS_BY_HTTP_STATUS.get(status)


def http_status_for(code: str) -> int:
    return HTTP_STATUS_BY_CODE.get(code, 500)


def check_page_size(value: int, *, name: str, default: int, maximum: int) -> int:
    """Validates a requested page size: 0 means the default, above the maximum is an error."""
    if value < 0:
        raise InvalidArgument(f"{name} must not be negative", field=name)
    if value > maximum:
        raise InvalidArgument(f"{name} must be at most {maximum}, got {value}", field=name)
    return value or default


MAX_REQUEST_ID_CHARS = 255


def idempotency_key_reused(used_for: str, each: str) -> Conflict:
    """The error for a request id sent again with another request: `used_for` says what the
    key was first used for, `each` what needs a key of its own."""
    return Conflict(
        f"this Idempotency-Key was used {used_for}; use a new key for each {each}",
        reason="IDEMPOTENCY_KEY_REUSED",
        field="request_id",
    )


def check_request_id(request_id: str) -> None:
    """Validates an AIP-155 request id (the REST Idempotency-Key header)."""
    if len(request_id) > MAX_REQUEST_ID_CHARS or not (
        request_id.isascii() and request_id.isprintable()
    ):
        raise InvalidArgument(
            f"the Idempotency-Key (request_id) must be 1-{MAX_REQUEST_ID_CHARS} printable "
            "ASCII characters",
            reason="INVALID_REQUEST_ID",
            field="request_id",
        )

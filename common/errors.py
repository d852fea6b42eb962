"""Domain errors: raised by plain-Python domain code, mapped to gRPC status at the edge.

PhotoshareError
├── InvalidArgument     the request is malformed (names the field)
├── NotFound            the thing asked for does not exist
├── AlreadyExists       a unique name is taken
├── PermissionDenied    the caller may not do this (e.g. an expired upload URL)
├── Unauthenticated     no or unknown credentials
├── FailedPrecondition  the state does not allow it (e.g. uploading twice)
└── Unavailable         a dependency is down; retrying may help
"""

from __future__ import annotations

from collections.abc import Mapping


class PhotoshareError(Exception):
    """Base of every error a user may see. `message` is written for the person reading it."""

    default_reason = "ERROR"

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
    default_reason = "INVALID_ARGUMENT"


class NotFound(PhotoshareError):
    default_reason = "NOT_FOUND"


class AlreadyExists(PhotoshareError):
    default_reason = "ALREADY_EXISTS"


class PermissionDenied(PhotoshareError):
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(PhotoshareError):
    default_reason = "UNAUTHENTICATED"


class FailedPrecondition(PhotoshareError):
    default_reason = "FAILED_PRECONDITION"


class Unavailable(PhotoshareError):
    default_reason = "UNAVAILABLE"


def check_page_size(value: int, *, name: str, default: int, maximum: int) -> int:
    """Validates a requested page size: 0 means the default, above the maximum is an error."""
    if value < 0:
        raise InvalidArgument(f"{name} must not be negative", field=name)
    if value > maximum:
        raise InvalidArgument(f"{name} must be at most {maximum}, got {value}", field=name)
    return value or default

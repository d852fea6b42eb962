"""The caller's identity, carried between services as gRPC metadata."""

from __future__ import annotations

from typing import Any

import grpc

from common.errors import Unauthenticated

USER_ID_KEY = "x-photoshare-user-id"
SESSION_ID_KEY = "x-photoshare-session-id"  # the session of the token the call came with


def caller_id(context: grpc.aio.ServicerContext[Any, Any]) -> int:
    """The user the gateway authenticated; services behind it never see tokens."""
    user_id = optional_caller_id(context)
    if user_id is None:
        raise Unauthenticated("this call needs an authenticated user", reason="NO_CALLER")
    return user_id


def optional_caller_id(context: grpc.aio.ServicerContext[Any, Any]) -> int | None:
    """The authenticated user, or None for a call made by another service on its own."""
    return _number(context, USER_ID_KEY)


def caller_session_id(context: grpc.aio.ServicerContext[Any, Any]) -> int:
    """The session whose token the gateway resolved; 0 for a call made by a service."""
    return _number(context, SESSION_ID_KEY) or 0


def _number(context: grpc.aio.ServicerContext[Any, Any], key: str) -> int | None:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


def as_caller(user_id: int, session_id: int = 0) -> tuple[tuple[str, str], ...]:
    return ((USER_ID_KEY, str(user_id)), (SESSION_ID_KEY, str(session_id)))

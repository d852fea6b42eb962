"""Trust between the mesh's processes (ADR 4).

Every gRPC call between them carries a credential: an HMAC, with the mesh's shared secret, over
who the call is for (the `x-photoshare-user-id` it carries, or nobody) and an expiry a minute
ahead. A service accepts a call, and the identity in it, only with a valid credential, so
someone who can reach a port but lacks the secret can neither act as a user nor call the
internal RPCs (token checks, streams, batches). Health checks stay open to probes.

Channels sign in a client interceptor and servers verify in a server interceptor: no client or
servicer code changes, and `as_caller(user_id)` stays the way to say who a call is for.
"""

from __future__ import annotations

import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc

from common.errors import InvalidArgument
from common.metadata import USER_ID_KEY
from common.signing import Signer

CREDENTIAL_KEY = "x-photoshare-credential"
CREDENTIAL_TTL_S = 60.0
# A credential is sent for this long after it is made, so it has at least half its life left.
CREDENTIAL_REUSE_S = CREDENTIAL_TTL_S / 2
# Probes need no credential: they learn nothing but whether a service is up.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/",)

Metadata = Sequence[tuple[str, str | bytes]]


class MeshCredentials:
    """Example:
    credentials = MeshCredentials(load_secret(settings.secret, settings.data_dir))
    channel = insecure_channel(address, credentials)         # signs every call
    await serve(app, address)   # app.credentials verifies every call
    """

    def __init__(self, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._signer = Signer(secret, purpose="mesh-credential")
        self._clock = clock
        # Every call carries a credential and every service checks one: each HMAC is made
        # once and reused, a credential for CREDENTIAL_REUSE_S of its minute, a verdict on a
        # credential until it expires (the same bytes always verify the same way).
        self._issued: dict[str, tuple[str, float]] = {}
        self._verified: dict[str, tuple[bytes, int]] = {}

    def sign(self, user_id: str) -> str:
        """A credential for a call made for `user_id` ("" for none)."""
        now = self._clock()
        issued = self._issued.get(user_id)
        if issued is not None and now < issued[1]:
            return issued[0]
        expires_ms = int((now + CREDENTIAL_TTL_S) * 1000)
        credential = self._signer.sign(struct.pack(">q", expires_ms) + user_id.encode())
        _bounded(self._issued)[user_id] = (credential, now + CREDENTIAL_REUSE_S)
        return credential

    def verify(self, metadata: Metadata | None) -> bool:
        """Whether the call's credential is valid and names the user the call is for."""
        values = {key: value for key, value in metadata or ()}
        credential, user_id = values.get(CREDENTIAL_KEY), values.get(USER_ID_KEY, "")
        if not isinstance(credential, str) or not isinstance(user_id, str):
            return False
        known = self._verified.get(credential)
        if known is None:
            try:
                payload = self._signer.verify(credential, what="credential")
            except InvalidArgument:
                return False
            (expires_ms,) = struct.unpack(">q", payload[:8])
            known = _bounded(self._verified)[credential] = (payload[8:], expires_ms)
        named, expires_ms = known
        now_ms = self._clock() * 1000
        fresh = now_ms < expires_ms <= now_ms + (CREDENTIAL_TTL_S + 5) * 1000
        return fresh and named == user_id.encode()


_REMEMBERED = 50_000  # credentials issued or verified, before the memory starts again


def _bounded(remembered: dict[str, Any]) -> dict[str, Any]:
    """The dict, emptied first when full: expired entries go with the rest, and a miss only
    costs one HMAC."""
    if len(remembered) >= _REMEMBERED:
        remembered.clear()
    return remembered


class _Signing:
    """Adds the credential to a call (grpc.aio takes one interceptor class per call kind)."""

    def __init__(self, credentials: MeshCredentials) -> None:
        self._credentials = credentials

    def _signed(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = list(details.metadata or ())
        user_id = next((str(v) for k, v in metadata if k == USER_ID_KEY), "")
        metadata.append((CREDENTIAL_KEY, self._credentials.sign(user_id)))
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )


class _SigningUnary(_Signing, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._signed(details), request)


class _SigningStream(_Signing, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._signed(details), request)


def signing_interceptors(credentials: MeshCredentials) -> list[grpc.aio.ClientInterceptor]:
    """For a channel: every unary and server-streaming call it makes carries the credential
    (the mesh makes no client-streaming calls)."""
    return [_SigningUnary(credentials), _SigningStream(credentials)]


class VerifyingInterceptor(grpc.aio.ServerInterceptor):
    """Refuses every call without a valid credential (UNAUTHENTICATED), health checks apart."""

    def __init__(self, credentials: MeshCredentials) -> None:
        self._credentials = credentials

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        if (
            handler is None
            or details.method.startswith(OPEN_METHOD_PREFIXES)
            or self._credentials.verify(details.invocation_metadata)
        ):
            return handler
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _refuse_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return grpc.unary_unary_rpc_method_handler(
            _refuse,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


_REFUSAL = "calls to this service must come from the Photoshare gateway or another service"


async def _refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL)


async def _refuse_stream(
    request: Any, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[Any]:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _REFUSAL)
    yield  # an async generator, as stream handlers are

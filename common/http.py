"""HTTP error bodies and connection limits shared by the gateway and the media endpoints.

Every error is `{"error": {"code": <http status>, "status": "<gRPC code name>",
"message": "...", "details": [...]}}` (the AIP-193 JSON shape), aiohttp's own parser errors
included. What status a domain error gets is said once, by its class in common.errors.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
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
    return web.json_response(
        error_body(status, message, http_status=code, details=details),
        status=code,
        headers=headers,
    )


def error_body(
    status: str,
    message: str,
    *,
    http_status: int | None = None,
    details: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The error shape by itself: a streamed answer sends it as an event."""
    code = http_status or errors.http_status_for(status)
    return {"error": {"code": code, "status": status, "message": message, "details": list(details)}}


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
# Connections the kernel holds for the server before it accepts them (aiohttp's default is
# 128). A burst of new clients beyond it gets its SYNs dropped and retried a second later:
# the kernel logs "Possible SYN flooding", the clients see a second of extra latency. The
# kernel caps it at net.core.somaxconn (4096 on current kernels).
LISTEN_BACKLOG = 2048


def runner(app: web.Application, *, max_connections_per_address: int = 0) -> web.AppRunner:
    """An AppRunner with Photoshare's connection limits and JSON errors from the parser.

    `max_connections_per_address` (0: no limit) bounds how many connections one client
    address holds open at once; one more is closed as soon as it is accepted.
    """
    return web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=IDLE_TIMEOUT_S,
        max_headers=MAX_HEADERS,
        max_field_size=MAX_FIELD_SIZE,
        max_line_size=MAX_LINE_SIZE,
        max_connections_per_address=max_connections_per_address,
    )


async def listen(
    site_runner: web.AppRunner, host: str, port: int, *, reuse_port: bool = False
) -> None:
    """Starts serving `site_runner` (set up) on host:port with Photoshare's listen backlog.
    `reuse_port`: replicas on one machine share the port (SO_REUSEPORT)."""
    site = web.TCPSite(site_runner, host, port, reuse_port=reuse_port, backlog=LISTEN_BACKLOG)
    await site.start()


# Open connections per client address, per server (the runner's handlers share their Server).
_OPEN_BY_ADDRESS: weakref.WeakKeyDictionary[web_server.Server, Counter[str]] = (
    weakref.WeakKeyDictionary()
)


class _PhotoshareHandler(web_protocol.RequestHandler):
    """aiohttp's per-connection handler with two additions.

    Its parser's refusals (a header too long, too many headers, a bad request line) are
    answered before any middleware runs, as text/plain; this keeps the JSON shape. And it
    counts connections per client address, closing those past the limit at once.
    """

    def __init__(
        self, manager: web_server.Server, *, max_connections_per_address: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(manager, **kwargs)
        self._max_per_address = max_connections_per_address
        self._counted_address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        if not self._max_per_address or not peer or self._manager is None:
            return
        open_here = _OPEN_BY_ADDRESS.setdefault(self._manager, Counter())
        address = str(peer[0])
        if open_here[address] >= self._max_per_address:
            transport.close()  # no answer: a flood of connections gets none
            return
        open_here[address] += 1
        self._counted_address = address

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._counted_address is not None and self._manager is not None:
            open_here = _OPEN_BY_ADDRESS[self._manager]
            open_here[self._counted_address] -= 1
            if not open_here[self._counted_address]:
                del open_here[self._counted_address]
            self._counted_address = None
        super().connection_lost(exc)

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
web_server.RequestHandler = _PhotoshareHandler  # type: ignore[attr-defined]

"""CORS for the gateway and the media HTTP endpoints: which web origins may call them.

A browser asks first (a preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`)
before it sends `Authorization` or a JSON body to another origin, then shows a response to
the page only if it names the page's origin. Both answers come from here, so that every
response carries the headers, errors and streamed media included. aiohttp-cors does not fit
(ADR 12): it cannot serve the gateway's one catch-all route and takes over the OPTIONS method
that tus needs for itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from common.errors import PermissionDenied
from common.http import domain_error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ANY_ORIGIN = "*"
# How long a browser may reuse a preflight's answer.
PREFLIGHT_MAX_AGE_S = 600


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """Who may call from a browser, and what a page may send and read.

    `origins` empty: no browser page of another origin may call (the default)."""

    origins: frozenset[str]
    methods: tuple[str, ...]
    request_headers: tuple[str, ...]
    exposed_headers: tuple[str, ...]

    def allows(self, origin: str) -> bool:
        return ANY_ORIGIN in self.origins or origin in self.origins

    def install(self, app: web.Application) -> None:
        """Answers preflights before routing and marks every response, streamed ones too
        (`on_response_prepare` runs before the first byte is sent)."""
        app.middlewares.insert(0, self._preflight)
        app.on_response_prepare.append(self._mark)

    @web.middleware
    async def _preflight(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        method = request.headers.get("Access-Control-Request-Method")
        if request.method != "OPTIONS" or origin is None or method is None:
            return await handler(request)  # a tus OPTIONS without Origin is tus discovery
        if not self.allows(origin):
            return domain_error_response(
                PermissionDenied(
                    f"the origin {origin} may not call this API from a browser; an operator "
                    "adds it to PHOTOSHARE_CORS_ORIGINS"
                )
            )
        if method.upper() not in self.methods:
            return domain_error_response(
                PermissionDenied(
                    f"{method} is not a method this API answers; it answers "
                    + ", ".join(self.methods)
                )
            )
        refused = sorted(set(_header_list(request)) - {h.lower() for h in self.request_headers})
        if refused:
            return domain_error_response(
                PermissionDenied(
                    "a page may not send these headers: "
                    + ", ".join(refused)
                    + "; allowed: "
                    + ", ".join(self.request_headers)
                )
            )
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": ", ".join(self.methods),
                "Access-Control-Allow-Headers": ", ".join(self.request_headers),
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            },
        )

    async def _mark(self, request: web.Request, response: web.StreamResponse) -> None:
        if not self.origins:
            return  # every answer is the same whatever the Origin
        origin = request.headers.get("Origin")
        # Caches keep one copy per Origin: an answer for one page is never given to another.
        response.headers.add("Vary", "Origin")
        if origin is None or not self.allows(origin):
            return
        # The origin itself, even where any is allowed: no credentials are involved (the
        # token travels in a header), and a reflected origin is what caches key on.
        response.headers["Access-Control-Allow-Origin"] = origin
        if self.exposed_headers:
            response.headers["Access-Control-Expose-Headers"] = ", ".join(self.exposed_headers)


def _header_list(request: web.Request) -> Iterable[str]:
    raw = request.headers.get("Access-Control-Request-Headers", "")
    return (h.strip().lower() for h in raw.split(",") if h.strip())

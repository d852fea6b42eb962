"""The web app (web/, built by `make web` into web/dist), served by the gateway at `/`: its
page and its content-hashed assets, nothing fetched from the internet.

The page is the API's own origin, so its calls need no CORS; its uploads and images go to the
media origin, which allows it (common.settings: `Settings.allowed_origins`).
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

CHECKOUT_WEB_APP = Path(__file__).resolve().parents[1] / "web" / "dist"
_ASSET_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")


class WebApp:
    """GET / (the page) and GET /assets/<name> (its scripts and styles).

    Example:
        WebApp(CHECKOUT_WEB_APP, media_origin="http://127.0.0.1:8081").install(app)
    """

    def __init__(self, dist: Path = CHECKOUT_WEB_APP, *, media_origin: str) -> None:
        self._dist = dist
        # The page runs only its own scripts; it reaches the API here and the media origin
        # for uploads, images and videos.
        self._policy = "; ".join(
            (
                "default-src 'self'",
                f"img-src 'self' data: blob: {media_origin}",
                f"media-src {media_origin}",
                f"connect-src 'self' {media_origin}",
                "style-src 'self'",
                "object-src 'none'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            )
        )

    def install(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/assets/{name}", self.asset)

    async def page(self, request: web.Request) -> web.StreamResponse:
        index = self._dist / "index.html"
        if not index.is_file():
            raise web.HTTPServiceUnavailable(
                reason=f"the web app is not built in {self._dist}: run `make web`"
            )
        headers = {
            "Cache-Control": "no-cache",  # a new build's asset names reach browsers at once
            "Content-Security-Policy": self._policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        return web.FileResponse(index, headers=headers)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = self._dist / "assets" / name
        if not _ASSET_NAME.match(name) or not path.is_file():
            raise web.HTTPNotFound(reason=f"no asset {name} in the web app")
        # Content-hashed names (Vite): a name's bytes never change.
        headers = {"Cache-Control": "public, max-age=31536000, immutable"}
        return web.FileResponse(path, headers=headers)

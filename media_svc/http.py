"""The media HTTP endpoints: PUT to a signed upload URL, GET content-addressed renditions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from aiohttp import web

from common.errors import InvalidArgument, PhotoshareError
from common.http import domain_error_response, error_response
from media_svc.uploads import TOO_LARGE, WRONG_TYPE, Uploads

_RENDITION_NAME = re.compile(r"[0-9a-f]{64}\.(jpg|webp)")
_CONTENT_TYPES = {"jpg": "image/jpeg", "webp": "image/webp"}
_CHUNK_BYTES = 256 * 1024
# Renditions never change under their name: let every cache keep them for a year.
_IMMUTABLE = "public, max-age=31536000, immutable"


def make_app(uploads: Uploads, *, max_upload_bytes: int) -> web.Application:
    app = web.Application(client_max_size=max_upload_bytes)
    handlers = _Handlers(uploads)
    app.router.add_put(r"/uploads/{upload_id}", handlers.put_upload)
    app.router.add_get(r"/media/{name}", handlers.get_media)
    return app


class _Handlers:
    def __init__(self, uploads: Uploads) -> None:
        self._uploads = uploads

    async def put_upload(self, request: web.Request) -> web.StreamResponse:
        try:
            upload_id = _int(request.match_info["upload_id"], "upload id")
            upload = await self._uploads.receive(
                upload_id,
                request.query.get("token", ""),
                _body(request),
                content_length=request.content_length,
            )
        except PhotoshareError as exc:
            status = {TOO_LARGE: 413, WRONG_TYPE: 415, "ALREADY_UPLOADED": 409}.get(exc.reason)
            return domain_error_response(exc, http_status=status)
        return web.json_response(
            {"postId": str(upload.upload_id), "state": "PROCESSING"}, status=202
        )

    async def get_media(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not _RENDITION_NAME.fullmatch(name):
            return error_response("NOT_FOUND", f"no media is named {name!r}")
        digest, _, extension = name.partition(".")
        etag = f'"{digest}"'
        headers = {"Cache-Control": _IMMUTABLE, "ETag": etag, "X-Content-Type-Options": "nosniff"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        data = await self._uploads.rendition(name)
        if data is None:
            return error_response("NOT_FOUND", f"no media is named {name!r}")
        return web.Response(body=data, content_type=_CONTENT_TYPES[extension], headers=headers)


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(_CHUNK_BYTES):
        yield chunk


def _int(raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{what} must be a number, got {raw!r}") from None

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
        headers = {
            "Cache-Control": _IMMUTABLE,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
            "Accept-Ranges": "bytes",
        }
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        data = await self._uploads.rendition(name)
        if data is None:
            return error_response("NOT_FOUND", f"no media is named {name!r}")
        content_type = _CONTENT_TYPES[extension]
        if "Range" in request.headers:
            span = byte_range(request.headers["Range"], len(data))
            if span is None:
                return web.Response(
                    status=416, headers={**headers, "Content-Range": f"bytes */{len(data)}"}
                )
            if span != (0, len(data) - 1):
                first, last = span
                return web.Response(
                    status=206,
                    body=data[first : last + 1],
                    content_type=content_type,
                    headers={**headers, "Content-Range": f"bytes {first}-{last}/{len(data)}"},
                )
        return web.Response(body=data, content_type=content_type, headers=headers)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a single-range `Range` header asks for, or None when it cannot
    be satisfied. Anything else (several ranges, other units) means the whole file."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or size == 0:
        return (0, size - 1) if size else None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return (0, size - 1)
    if not first_text:  # the last N bytes
        return (max(0, size - int(last_text)), size - 1) if int(last_text) > 0 else None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        return None
    return (first, last)


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(_CHUNK_BYTES):
        yield chunk


def _int(raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{what} must be a number, got {raw!r}") from None

"""The media HTTP endpoints.

- PUT /uploads/{id}?token=...: the whole file in one request.
- The same URL speaks tus 1.0 core (https://tus.io/protocols/resumable-upload): OPTIONS,
  HEAD for Upload-Offset, PATCH to append; with the expiration extension.
- GET /media/{sha256}.{jpg|webp|avif|mp4}: content-addressed renditions, cacheable forever,
  with byte ranges and ETag/304; once deleted (no post uses it), 404 that is never cached.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator
from email.utils import formatdate

from aiohttp import ClientPayloadError, web
from aiohttp.typedefs import Middleware

from common.cors import CorsPolicy
from common.errors import InvalidArgument, NotFound, PhotoshareError, UnsupportedMedia
from common.http import domain_error_response, listen, runner
from common.metrics import Metrics
from media_svc import uploads as upload_reasons
from media_svc.media_files import MediaFiles
from media_svc.uploads import Uploads

_RENDITION_NAME = re.compile(r"[0-9a-f]{64}\.(jpg|webp|avif|mp4)")
_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "mp4": "video/mp4",
}
# Renditions never change under their name: let every cache keep them for a year.
_IMMUTABLE = "public, max-age=31536000, immutable"
TUS_VERSION = "1.0.0"
_TUS_PATCH_TYPE = "application/offset+octet-stream"
# What a web page may send (tus-js-client's headers, ranges and revalidation of media) and
# read (the tus answers, so that it can resume) when it calls from another origin.
_TUS_REQUEST_HEADERS = (
    "Content-Type",
    "Tus-Resumable",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "X-Requested-With",
    "Range",
    "If-None-Match",
    "If-Modified-Since",
)
_EXPOSED_HEADERS = (
    "Location",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Max-Size",
    "Tus-Extension",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Retry-After",
)


def cors_policy(origins: frozenset[str]) -> CorsPolicy:
    return CorsPolicy(
        origins,
        methods=("GET", "HEAD", "PUT", "PATCH"),
        request_headers=_TUS_REQUEST_HEADERS,
        exposed_headers=_EXPOSED_HEADERS,
    )


class HttpListener:
    """The aiohttp site for uploads and media, opened and closed with the service."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        *,
        max_connections_per_address: int = 0,
        reuse_port: bool = False,
    ) -> None:
        """`reuse_port`: replicas on one machine share the port (SO_REUSEPORT)."""
        self._runner = runner(app, max_connections_per_address=max_connections_per_address)
        self._host, self._port, self._reuse_port = host, port, reuse_port

    async def open(self) -> None:
        await self._runner.setup()
        await listen(self._runner, self._host, self._port, reuse_port=self._reuse_port)

    async def close(self) -> None:
        await self._runner.cleanup()


def make_app(
    uploads: Uploads,
    files: MediaFiles,
    *,
    max_upload_bytes: int,
    origins: frozenset[str] = frozenset(),
    metrics: Metrics | None = None,
    traced: Middleware | None = None,
) -> web.Application:
    """`origins`: the web origins whose pages may upload and fetch media (CORS); `metrics`:
    where requests are counted; `traced`: puts the requests it records in traces."""
    app = web.Application(
        client_max_size=max_upload_bytes,
        middlewares=[
            *([traced] if traced is not None else []),
            (metrics or Metrics()).http_middleware("media"),
        ],
    )
    cors_policy(origins).install(app)
    upload_handlers = _Uploads(uploads, max_upload_bytes)
    app.router.add_put(r"/uploads/{upload_id}", upload_handlers.put)
    app.router.add_route("OPTIONS", r"/uploads/{upload_id}", upload_handlers.options)
    app.router.add_route("HEAD", r"/uploads/{upload_id}", upload_handlers.head)
    app.router.add_patch(r"/uploads/{upload_id}", upload_handlers.patch)
    app.router.add_get(r"/media/{name}", _Media(files).get, allow_head=True)
    return app


class _Uploads:
    def __init__(self, uploads: Uploads, max_upload_bytes: int) -> None:
        self._uploads = uploads
        self._max_upload_bytes = max_upload_bytes

    async def put(self, request: web.Request) -> web.StreamResponse:
        try:
            upload = await self._uploads.receive(
                _upload_id(request),
                request.query.get("token", ""),
                _body(request),
                content_length=request.content_length,
            )
        except PhotoshareError as exc:
            return domain_error_response(exc)
        return web.json_response(
            {"postId": str(upload.upload_id), "state": "PROCESSING"}, status=202
        )

    async def options(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=204,
            headers={
                **_tus_headers(),
                "Tus-Version": TUS_VERSION,
                "Tus-Max-Size": str(self._max_upload_bytes),
                "Tus-Extension": "expiration",
            },
        )

    async def head(self, request: web.Request) -> web.StreamResponse:
        refused = _tus_version_refused(request)
        if refused:
            return refused
        try:
            progress = await self._uploads.progress(
                _upload_id(request), request.query.get("token", "")
            )
        except PhotoshareError as exc:
            return web.Response(status=_tus_status(exc), headers=_tus_headers())
        return web.Response(
            status=200,
            headers={
                **_tus_headers(),
                "Upload-Offset": str(progress.offset),
                "Upload-Length": str(progress.length),
                "Upload-Expires": _http_date(progress.expires_at_ms),
                "Cache-Control": "no-store",
            },
        )

    async def patch(self, request: web.Request) -> web.StreamResponse:
        refused = _tus_version_refused(request)
        if refused:
            return refused
        try:
            if request.content_type != _TUS_PATCH_TYPE:
                raise UnsupportedMedia(
                    f"a tus PATCH must have Content-Type: {_TUS_PATCH_TYPE}",
                    reason="TUS_CONTENT_TYPE",
                )
            offset = _int(request.headers.get("Upload-Offset", ""), "Upload-Offset header")
            progress = await self._uploads.append(
                _upload_id(request), request.query.get("token", ""), offset, _body(request)
            )
        except PhotoshareError as exc:
            return domain_error_response(exc, http_status=_tus_status(exc))
        except (ClientPayloadError, ConnectionError, asyncio.IncompleteReadError):
            # The connection broke mid-body; the bytes that arrived are kept for a resume.
            return web.Response(status=400, headers=_tus_headers())
        return web.Response(
            status=204,
            headers={
                **_tus_headers(),
                "Upload-Offset": str(progress.offset),
                "Upload-Expires": _http_date(progress.expires_at_ms),
            },
        )


class _Media:
    """Renditions streamed from the object store with the headers a CDN in front needs: the
    origin is asked once per edge and rendition, then each edge serves it for a year."""

    def __init__(self, files: MediaFiles) -> None:
        self._files = files

    async def get(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not _RENDITION_NAME.fullmatch(name):
            return domain_error_response(NotFound(f"no media is named {name!r}"))
        digest, _, extension = name.partition(".")
        headers = {
            "Cache-Control": _IMMUTABLE,
            "ETag": f'"{digest}"',
            "X-Content-Type-Options": "nosniff",
            "Accept-Ranges": "bytes",
        }
        first, last, status = 0, None, 200
        revalidating = headers["ETag"] in request.headers.get("If-None-Match", "")
        ranged = "Range" in request.headers and "If-Range" not in request.headers
        if revalidating or ranged or request.method == "HEAD":
            size = await self._files.rendition_size(digest, extension)
            if size is None:
                return _missing(name)
            if revalidating:
                return web.Response(status=304, headers=headers)
            span = byte_range(request.headers["Range"], size) if ranged else (0, size - 1)
            if span is None:
                return web.Response(
                    status=416, headers={**headers, "Content-Range": f"bytes */{size}"}
                )
            if span != (0, size - 1):
                (first, last), status = span, 206
                headers["Content-Range"] = f"bytes {first}-{last}/{size}"
            if request.method == "HEAD":
                return await _send(request, status, headers, extension, span, None)
        # Opened before anything is answered: a deletion from here on cannot turn it into a 404.
        found = await self._files.read_rendition(digest, extension, first, last)
        if found is None:
            return _missing(name)
        chunks, size = found
        try:
            span = (first, size - 1 if last is None else last)
            return await _send(request, status, headers, extension, span, chunks)
        finally:
            await chunks.aclose()


async def _send(
    request: web.Request,
    status: int,
    headers: dict[str, str],
    extension: str,
    span: tuple[int, int],
    chunks: AsyncGenerator[bytes, None] | None,
) -> web.StreamResponse:
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = _CONTENT_TYPES[extension]
    response.content_length = span[1] - span[0] + 1
    await response.prepare(request)
    if chunks is not None:
        async for chunk in chunks:
            await response.write(chunk)
    await response.write_eof()
    return response


def _missing(name: str) -> web.StreamResponse:
    # Maybe deleted with its post: nobody may keep this answer, it can change.
    return domain_error_response(
        NotFound(f"no media is named {name!r}"), headers={"Cache-Control": "no-store"}
    )


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


def _tus_headers() -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION}


def _tus_version_refused(request: web.Request) -> web.Response | None:
    if request.headers.get("Tus-Resumable") == TUS_VERSION:
        return None
    return web.Response(
        status=412,
        headers={"Tus-Version": TUS_VERSION},
        text="" if request.method == "HEAD" else f"send Tus-Resumable: {TUS_VERSION}",
    )


def _tus_status(error: PhotoshareError) -> int:
    if error.reason == upload_reasons.URL_EXPIRED:
        return 410  # tus: an expired upload is gone (a plain PUT says 403)
    return error.http_status


def _http_date(ms: int) -> str:
    return formatdate(ms / 1000, usegmt=True)


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The body as it arrives, so a broken connection loses as little as possible."""
    stream = request.content
    try:
        async for chunk in stream.iter_any():
            yield chunk
    except (ClientPayloadError, ConnectionError):
        # aiohttp reports a lost connection before handing over bytes it had buffered;
        # take them too, so that a tus resume starts after everything that arrived.
        buffered = stream._read_nowait(-1)
        if buffered:
            yield buffered
        raise


def _upload_id(request: web.Request) -> int:
    return _int(request.match_info["upload_id"], "upload id")


def _int(raw: str, what: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{what} must be a number, got {raw!r}") from None

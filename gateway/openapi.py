"""The OpenAPI 3 document the gateway serves at /openapi.json, and the page at /docs.

Its paths and schemas are generated from the protos at build time (`make proto` runs gnostic's
protoc-gen-openapi: generated/photoshare/api/v1/openapi.json). What the protos cannot say is
added here, from the same descriptors the gateway routes by: bearer authentication (and which
calls need none), the error body every failure has, 202 where the work goes on after the
answer, and the upload and media URLs that media_svc serves on its own origin.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from photoshare.api.v1 import annotations_pb2

from gateway.routes import Route

Document = dict[str, Any]
# swagger-ui-dist, installed from npm by `make setup` (package.json) into the checkout; served
# by the gateway, so that the page asks nothing of the internet. An image sets
# PHOTOSHARE_DOCS_ASSETS_DIR to where it copied them.
CHECKOUT_SWAGGER_UI = Path(__file__).resolve().parents[1] / "node_modules" / "swagger-ui-dist"
_SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
ERROR_STATUSES = {
    "400": "The request is malformed or a value is out of range; `message` says which.",
    "401": "No bearer token, or one that is not (or no longer) valid.",
    "403": "The caller may not do this.",
    "404": "What the path names does not exist (or is not visible to the caller).",
    "409": "It conflicts with the current state (a username taken, a post not yet published).",
    "429": "Too many requests: wait `Retry-After` seconds.",
    "503": "A backend is unavailable; retry shortly.",
}


def generated_document() -> Document:
    """gnostic's document as `make proto` left it."""
    # Beside the generated module of its package (a namespace package: no resource reader).
    text = Path(annotations_pb2.__file__).with_name("openapi.json").read_text()
    document: Document = json.loads(text)
    return document


def complete(generated: Document, routes: Sequence[Route], media_base: str) -> Document:
    """The document clients read: the generated one with what the protos cannot say."""
    document = copy.deepcopy(generated)
    document["info"] = {
        "title": "Photoshare",
        "version": "v1",
        "description": (
            "Photo sharing: sign up, follow people, post photos and videos, read your home "
            "feed, like, comment and get notified. Authenticate with the token that sign-up "
            "or sign-in returns: `Authorization: Bearer <token>`. int64 values are strings; "
            'enums are their names. Every error is `{"error": {...}}` (schema `Error`).'
        ),
    }
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_ERROR_SCHEMAS)
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The token from POST /v1/users or POST /v1/sessions.",
        }
    }
    document["security"] = [{"bearer": []}]
    document["paths"] = _plain_path_parameters(document.get("paths", {}))
    by_operation = {_operation_id(route): route for route in routes}
    for path_item in document.get("paths", {}).values():
        for operation in _operations(path_item):
            route = by_operation.get(operation.get("operationId", ""))
            if route is not None:
                _describe(operation, route)
    document["paths"].update(_media_paths(media_base))
    return document


def _plain_path_parameters(paths: dict[str, Any]) -> dict[str, Any]:
    """`/v1/posts/{post.id}` (a field of the body's message, AIP-134) becomes `/v1/posts/{id}`:
    OpenAPI holds paths that differ only in their parameters' names to be one path, and
    clients' generators want plain identifiers. Its operations join that path's."""
    plain: dict[str, Any] = {}
    for path, item in paths.items():
        renamed = _DOTTED.sub(lambda m: "{" + m.group(2) + "}", path)
        if renamed != path:
            for operation in _operations(item):
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "path" and "." in parameter["name"]:
                        original = parameter["name"]
                        parameter["name"] = original.rpartition(".")[2]
                        parameter.setdefault("description", f"Sets `{original}` of the body.")
        plain.setdefault(renamed, {}).update(item)
    return plain


_DOTTED = re.compile(r"\{((?:\w+\.)+)(\w+)\}")


def _operation_id(route: Route) -> str:
    return f"{route.method.containing_service.name}_{route.method.name}"


def _operations(path_item: dict[str, Any]) -> list[dict[str, Any]]:
    verbs = ("get", "put", "post", "delete", "patch", "head", "options")
    return [path_item[verb] for verb in verbs if verb in path_item]


def _describe(operation: dict[str, Any], route: Route) -> None:
    responses = operation.setdefault("responses", {})
    if route.accepted and "200" in responses:
        responses["202"] = responses.pop("200")
        responses["202"]["description"] = "Accepted: the work goes on after this answer."
    if route.public:
        operation["security"] = []  # signs the caller up or in: no token yet
    for status, description in ERROR_STATUSES.items():
        if status == "401" and route.public:
            continue
        responses.setdefault(status, _error_response(description))
    if route.body and "Idempotency-Key" not in _header_names(operation):
        operation.setdefault("parameters", []).append(_IDEMPOTENCY_KEY)
    if route.streaming:
        _as_event_stream(operation, route)


def _as_event_stream(operation: dict[str, Any], route: Route) -> None:
    """A server-streaming RPC is answered as Server-Sent Events (gateway/streams.py): the
    document says so, and what each event carries."""
    message = route.response_cls.DESCRIPTOR.name
    operation["responses"]["200"] = {
        "description": (
            "A stream of Server-Sent Events (text/event-stream) that stays open. Each event "
            f"is named after the field of {message}'s oneof it carries (`post`, ...); its "
            f"data is that {message} as JSON without `id`, and its SSE id is the `id` to "
            "resume from. A comment line is sent when the stream is quiet (a heartbeat). An "
            "error after the stream opened (a bad `Last-Event-ID`) is an `error` event in "
            "the shape of `Error`, then the stream ends."
        ),
        "content": {
            "text/event-stream": {
                "schema": {"type": "string"},
                "x-event-data": {"$ref": f"#/components/schemas/{message}"},
            }
        },
    }
    if "Last-Event-ID" not in _header_names(operation):
        operation.setdefault("parameters", []).append(_LAST_EVENT_ID)


def _header_names(operation: dict[str, Any]) -> set[str]:
    return {p.get("name", "") for p in operation.get("parameters", []) if p.get("in") == "header"}


def _error_response(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    return response


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A key the client makes per intended action: a retry with the same key "
    "is answered as the first time, never done twice (AIP-155).",
    "schema": {"type": "string", "maxLength": 128},
}

_LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "description": "The id of the last event received: the stream resumes after it (an "
    "EventSource sends it when it reconnects; it wins over `after`).",
    "schema": {"type": "string"},
}

_ERROR_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "Every failure's body (the AIP-193 JSON shape).",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorStatus"}},
    },
    "ErrorStatus": {
        "type": "object",
        "required": ["code", "status", "message", "details"],
        "properties": {
            "code": {"type": "integer", "description": "The HTTP status."},
            "status": {
                "type": "string",
                "description": "The gRPC status name, e.g. INVALID_ARGUMENT, NOT_FOUND.",
            },
            "message": {"type": "string", "description": "What went wrong, for a person."},
            "details": {
                "type": "array",
                "description": "google.rpc details: ErrorInfo (a machine-readable reason), "
                "BadRequest (the field at fault).",
                "items": {
                    "type": "object",
                    "properties": {"@type": {"type": "string"}},
                    "additionalProperties": True,
                },
            },
        },
    },
}


def _media_paths(media_base: str) -> dict[str, Any]:
    """The upload URL (`upload.url` of a created post or avatar) and the media URLs
    (`renditions[].url`): served by media_svc at `media_base`, not by the gateway."""
    servers = [{"url": media_base, "description": "media_svc (a CDN in production)"}]
    upload_id = {
        "name": "upload_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
    token = {
        "name": "token",
        "in": "query",
        "required": True,
        "description": "The signed token in the upload URL; it expires with the URL.",
        "schema": {"type": "string"},
    }
    tus_resumable = {
        "name": "Tus-Resumable",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "enum": ["1.0.0"]},
    }
    offset_headers = {
        "Upload-Offset": {"schema": {"type": "integer"}, "description": "Bytes received."},
        "Tus-Resumable": {"schema": {"type": "string"}},
    }
    no_token: list[dict[str, Any]] = []  # the signed URL is the credential
    return {
        "/uploads/{upload_id}": {
            "servers": servers,
            "parameters": [upload_id, token],
            "put": {
                "operationId": "Media_PutUpload",
                "summary": "Uploads the whole file in one request.",
                "security": no_token,
                "requestBody": {
                    "required": True,
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "202": {
                        "description": "Received; processing starts. The post is published "
                        "(or fails with a reason) within seconds.",
                        "content": {"application/json": {"schema": _UPLOAD_ACCEPTED}},
                    },
                    **{s: _error_response(d) for s, d in _UPLOAD_ERRORS.items()},
                },
            },
            "head": {
                "operationId": "Media_GetUploadOffset",
                "summary": "tus 1.0: how many bytes were received, to resume from there.",
                "security": no_token,
                "parameters": [tus_resumable],
                "responses": {
                    "200": {"description": "The offset.", "headers": offset_headers},
                    "404": {"description": "No such upload."},
                    "410": {"description": "The upload URL expired."},
                },
            },
            "patch": {
                "operationId": "Media_AppendUpload",
                "summary": "tus 1.0: appends bytes at `Upload-Offset`.",
                "security": no_token,
                "parameters": [
                    tus_resumable,
                    {
                        "name": "Upload-Offset",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/offset+octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    },
                },
                "responses": {
                    "204": {"description": "Appended.", "headers": offset_headers},
                    **{s: _error_response(d) for s, d in _UPLOAD_ERRORS.items()},
                },
            },
            "options": {
                "operationId": "Media_DiscoverTus",
                "summary": "tus 1.0: the versions, extensions and largest size accepted.",
                "security": no_token,
                "responses": {"204": {"description": "Tus-Version, Tus-Max-Size, Tus-Extension."}},
            },
        },
        "/media/{name}": {
            "servers": servers,
            "get": {
                "operationId": "Media_GetRendition",
                "summary": "A rendition: immutable, cacheable for a year, byte ranges served.",
                "security": no_token,
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "pattern": "^[0-9a-f]{64}\\.(jpg|webp|avif|mp4)$",
                        },
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The file.",
                        "content": {
                            t: {"schema": {"type": "string", "format": "binary"}}
                            for t in ("image/jpeg", "image/webp", "image/avif", "video/mp4")
                        },
                    },
                    "206": {"description": "The range asked for."},
                    "304": {"description": "Not modified (If-None-Match)."},
                    "404": _error_response("No such rendition, or no post uses it anymore."),
                },
            },
        },
    }


_UPLOAD_ACCEPTED = {
    "type": "object",
    "properties": {"postId": {"type": "string"}, "state": {"type": "string"}},
}
_UPLOAD_ERRORS = {
    "400": "The body is not what the post declared, or the token is malformed.",
    "403": "The upload URL's token is not valid.",
    "409": "The offset is not where the upload stands (tus), or the upload is done.",
    "410": "The upload URL expired.",
    "413": "Larger than allowed.",
    "415": "Not a photo or video this service accepts.",
}


class Docs:
    """GET /openapi.json and the Swagger UI page at /docs."""

    def __init__(self, document: Document, assets: Path = CHECKOUT_SWAGGER_UI) -> None:
        self._body = json.dumps(document, separators=(",", ":")).encode()
        self._assets = assets

    def install(self, app: web.Application) -> None:
        app.router.add_get("/openapi.json", self.openapi)
        app.router.add_get("/docs", self.page)
        app.router.add_get("/docs/{name}", self.asset)

    async def openapi(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self._body, content_type="application/json")

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=_PAGE, content_type="text/html")

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in _SWAGGER_FILES:
            raise web.HTTPNotFound(reason=f"no file {name} in the API docs")
        path = self._assets / name
        if not path.is_file():
            raise web.HTTPServiceUnavailable(
                reason="the API docs' renderer is not installed: run `make setup` (npm ci)"
            )
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Photoshare API</title>
  <link rel="icon" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#docs", deepLinking: true});
  </script>
</body>
</html>
"""

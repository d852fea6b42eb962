"""Routes built from the google.api.http annotations in the service descriptors."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from google.api import annotations_pb2
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from photoshare.api.v1 import annotations_pb2 as photoshare_annotations

_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_.]*)(?:=([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class Route:
    http_method: str
    template: str
    pattern: re.Pattern[str]
    body: str  # "", "*" or the name of the field the body fills
    method: descriptor.MethodDescriptor
    request_cls: type[Message]
    response_cls: type[Message]
    public: bool
    accepted: bool = False  # answered 202: the work goes on after the answer
    streaming: bool = False  # the RPC streams its answer: served as Server-Sent Events

    @property
    def grpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def service_name(self) -> str:
        return self.method.containing_service.full_name


def routes_for(services: Iterable[descriptor.ServiceDescriptor]) -> list[Route]:
    """Every method with an http rule becomes a route; methods without one stay internal."""
    routes = []
    for service in services:
        for method in service.methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            rule = options.Extensions[annotations_pb2.http]
            verb = rule.WhichOneof("pattern")
            if verb is None or verb == "custom":
                raise ValueError(f"{method.full_name}: unsupported http rule {rule}")
            template = getattr(rule, verb)
            routes.append(
                Route(
                    http_method=verb.upper(),
                    template=template,
                    pattern=compile_template(template),
                    body=rule.body,
                    method=method,
                    request_cls=message_factory.GetMessageClass(method.input_type),
                    response_cls=message_factory.GetMessageClass(method.output_type),
                    public=options.Extensions[photoshare_annotations.public],
                    accepted=options.Extensions[photoshare_annotations.accepted],
                    streaming=method.server_streaming,
                )
            )
    return routes


def compile_template(template: str) -> re.Pattern[str]:
    """'/v1/users/{id}/posts' -> a regex with one named group per variable."""
    parts: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        name, segments = match.group(1), match.group(2) or "*"
        group = name.replace(".", "__")
        body = "[^/]+" if segments == "*" else ".+" if segments == "**" else None
        if body is None:
            raise ValueError(f"unsupported path variable {match.group(0)} in {template}")
        parts.append(f"(?P<{group}>{body})")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z")

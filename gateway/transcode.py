"""HTTP request -> request message (the proto3 JSON mapping); responses: json_mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message

from common.errors import InvalidArgument
from gateway.routes import Route


def build_request(
    route: Route,
    path_params: Mapping[str, str],
    query: Mapping[str, str],
    body: bytes,
    idempotency_key: str | None = None,
) -> Message:
    fields: dict[str, Any] = {}
    if route.body:
        payload = _json_body(body)
        if route.body == "*":
            fields.update(payload)
        else:
            fields[route.body] = payload
    elif body.strip():
        raise InvalidArgument(f"{route.http_method} {route.template} takes no request body")
    request_type: descriptor.Descriptor = route.request_cls.DESCRIPTOR  # type: ignore[assignment]
    known: dict[str, descriptor.FieldDescriptor] = {f.json_name: f for f in request_type.fields}
    known.update({f.name: f for f in request_type.fields})
    for name, value in query.items():
        field = known.get(name)
        if field is None or field.message_type is not None:
            raise InvalidArgument(f"unknown query parameter {name[:100]!r}", field=name[:100])
        fields[field.json_name] = _scalar(field, value)
    for group, value in path_params.items():
        name = group.replace("__", ".")
        if "." in name:  # a field of a message field, e.g. {post.id}: the path wins
            *parents, leaf = name.split(".")
            target, message_type = fields, request_type
            for parent in parents:
                nested = target.get(parent)
                target[parent] = nested = nested if isinstance(nested, dict) else {}
                nested_type = message_type.fields_by_name[parent].message_type
                assert nested_type is not None  # routes only name fields of message fields
                target, message_type = nested, nested_type
            target[leaf] = _scalar(message_type.fields_by_name[leaf], unquote(value))
        else:
            fields[name] = _scalar(known[name], unquote(value)) if name in known else unquote(value)
    _expand_enum_short_names(fields, request_type)
    message = route.request_cls()
    try:
        json_format.ParseDict(fields, message)
    except json_format.ParseError as exc:
        raise InvalidArgument(_readable(str(exc))) from exc
    _check_enums(message)
    if idempotency_key is not None:
        _set_request_id(message, idempotency_key)
    return message


_REQUEST_ID = "request_id"  # the field, on any request message that has it


def _set_request_id(message: Message, key: str) -> None:
    """The Idempotency-Key header is the AIP-155 `request_id` of the calls that have one."""
    if _REQUEST_ID not in message.DESCRIPTOR.fields_by_name:
        return  # not a creating call: repeating it is safe anyway
    given = getattr(message, _REQUEST_ID)
    if given and given != key:
        raise InvalidArgument(
            "the Idempotency-Key header and the body's requestId differ", field="request_id"
        )
    setattr(message, _REQUEST_ID, key)


_INTEGER_TYPES = {
    descriptor.FieldDescriptor.TYPE_INT32,
    descriptor.FieldDescriptor.TYPE_INT64,
    descriptor.FieldDescriptor.TYPE_UINT32,
    descriptor.FieldDescriptor.TYPE_UINT64,
    descriptor.FieldDescriptor.TYPE_SINT32,
    descriptor.FieldDescriptor.TYPE_SINT64,
}
_INTEGER = re.compile(r"-?[0-9]{1,20}")


def _scalar(field: descriptor.FieldDescriptor, value: str) -> str:
    """Checks a path or query value against its field's type before protobuf sees it."""
    if field.type in _INTEGER_TYPES and not _INTEGER.fullmatch(value):
        raise InvalidArgument(
            f"{field.json_name} must be an integer, got {value[:100]!r}", field=field.json_name
        )
    return value


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidArgument(_TOO_DEEP) from exc
    if not isinstance(payload, dict):
        raise InvalidArgument("the request body must be a JSON object")
    if _depth(payload) > MAX_JSON_DEPTH:
        raise InvalidArgument(_TOO_DEEP)
    return payload


# No request message nests deeper than a few levels; anything far deeper is not ours.
MAX_JSON_DEPTH = 16
_TOO_DEEP = f"the request body nests deeper than {MAX_JSON_DEPTH} levels"


def _depth(value: Any, limit: int = MAX_JSON_DEPTH + 1) -> int:
    """How deep objects and arrays nest, counted no further than `limit`."""
    if limit <= 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def _check_enums(message: Message) -> None:
    """JSON may name an enum by number; a number the enum does not define is refused here
    (proto3 would keep it, and every service after would have to)."""
    for field, value in message.ListFields():
        if field.enum_type is not None:
            values = value if field.is_repeated else [value]
            for number in values:
                if field.enum_type.values_by_number.get(number) is None:
                    names = ", ".join(v.name for v in field.enum_type.values[1:])
                    raise InvalidArgument(
                        f"{field.json_name} must be one of {names}; {number} is not",
                        field=field.json_name,
                    )
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry:
            for child in value if field.is_repeated else [value]:
                _check_enums(child)


def _expand_enum_short_names(fields: dict[str, Any], message: descriptor.Descriptor) -> None:
    """Accepts "PHOTO" for MEDIA_TYPE_PHOTO: clients should not have to spell the prefix."""
    by_name = {f.json_name: f for f in message.fields} | {f.name: f for f in message.fields}
    for key, value in fields.items():
        field = by_name.get(key)
        if field is None:
            continue
        if field.enum_type is not None and isinstance(value, str):
            fields[key] = _full_enum_name(field.enum_type, value)
        elif field.message_type is not None and isinstance(value, dict):
            _expand_enum_short_names(value, field.message_type)


def _full_enum_name(enum: descriptor.EnumDescriptor, value: str) -> str:
    if value in enum.values_by_name:
        return value
    prefix = enum.values[0].name.removesuffix("UNSPECIFIED")
    return prefix + value if prefix + value in enum.values_by_name else value


def _readable(message: str) -> str:
    # "Failed to parse limit field: Couldn't parse integer: "x"." is already readable;
    # drop the message-type noise protobuf adds to unknown-field errors.
    return message.replace('Message type "', "").replace('" has no field named', " has no field")

"""Response messages as proto3 JSON, fast: the gateway's hottest work after the call itself.

`json_format.MessageToDict` walks every message through descriptors and reflection on each call
(1.1 ms for a 20-post feed page, a fifth of the gateway's CPU). Here each message type's
descriptor is read once and turned into a plan, a list of (field, JSON name, converter), so a
call only reads fields and converts values (about 0.3 ms for the same page). The output is
`MessageToDict(message, always_print_fields_with_no_presence=True)`'s, checked field for field
by tests/unit/test_json_mapping.py on every response type the routes return; a message type
with a field this module does not plan for (maps, bytes, Any, wrappers...) falls back to
json_format whole, so an unplanned type is slow, never wrong.

    to_dict = JsonMapping().encoder(GetHomeFeedResponse.DESCRIPTOR)
    body = orjson.dumps(to_dict(response))
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal.type_checkers import ToShortestFloat
from google.protobuf.message import Message

Encoder = Callable[[Any], Any]

_FD = FieldDescriptor
# proto3 JSON writes 64-bit integers as strings (JavaScript numbers lose precision past 2^53).
_INT64 = {_FD.TYPE_INT64, _FD.TYPE_UINT64, _FD.TYPE_SINT64, _FD.TYPE_FIXED64, _FD.TYPE_SFIXED64}
_PLAIN = {
    _FD.TYPE_INT32,
    _FD.TYPE_UINT32,
    _FD.TYPE_SINT32,
    _FD.TYPE_FIXED32,
    _FD.TYPE_SFIXED32,
    _FD.TYPE_BOOL,
    _FD.TYPE_STRING,
}


def _timestamp(message: Any) -> str:
    """RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as `Timestamp.ToJsonString`
    writes it (which is four times slower)."""
    seconds, nanos = message.seconds, message.nanos
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS or not 0 <= nanos < 1_000_000_000:
        text: str = message.ToJsonString()  # out of range: its error, or its form
        return text
    t = time.gmtime(seconds)
    whole = (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )
    if nanos == 0:
        return whole + "Z"
    if nanos % 1_000_000 == 0:
        return f"{whole}.{nanos // 1_000_000:03d}Z"
    if nanos % 1_000 == 0:
        return f"{whole}.{nanos // 1_000:06d}Z"
    return f"{whole}.{nanos:09d}Z"


# 0001-01-01 to 9999-12-31, the range proto3 JSON allows.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799
# Well-known types with a JSON form of their own, as json_format writes it.
_WELL_KNOWN: dict[str, Encoder] = {
    "google.protobuf.Timestamp": _timestamp,
    "google.protobuf.FieldMask": lambda m: m.ToJsonString(),
}
# Parts of a response that repeat from page to page (a post's media with its renditions, an
# author): their JSON is remembered by their bytes, so the same bytes are encoded once. Keyed
# by content, an entry is never stale: a changed post has other bytes.
MEMOIZED = ("photoshare.media.v1.Media", "photoshare.graph.v1.UserSummary")
MEMO_ENTRIES = 20_000


class _Unplanned(Exception):
    """A field of a kind the plans do not cover: the message type uses json_format."""


class JsonMapping:
    """Encoders by message type, each planned on first use and kept."""

    def __init__(self, memoized: tuple[str, ...] = MEMOIZED) -> None:
        self._encoders: dict[str, Encoder] = {}
        self._memoized = memoized

    def encode(self, message: Message) -> dict[str, Any]:
        descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]  # upb's, same API
        encoded: dict[str, Any] = self.encoder(descriptor)(message)
        return encoded

    def encoder(self, descriptor: Descriptor) -> Encoder:
        name = descriptor.full_name
        if name not in self._encoders:
            try:
                planner = _Planner(dict(_WELL_KNOWN), self._memoized)
                self._encoders[name] = planner.plan(descriptor)
            except _Unplanned:
                self._encoders[name] = _json_format
        return self._encoders[name]


def _json_format(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


class _Planner:
    """Plans one top-level type and every type under it (a type that refers to itself is
    registered before its fields are planned, so the recursion ends)."""

    def __init__(self, planned: dict[str, Encoder], memoized: tuple[str, ...]) -> None:
        self._planned = planned
        self._memoized = memoized

    def plan(self, descriptor: Descriptor) -> Encoder:
        name = descriptor.full_name
        if name in self._planned:
            return self._planned[name]
        if name.startswith("google.protobuf.") or descriptor.GetOptions().map_entry:
            raise _Unplanned(name)
        fields: list[tuple[str, str, Encoder | None, bool, bool]] = []

        def encode(message: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for field, json_name, convert, repeated, has_presence in fields:
                if has_presence and not message.HasField(field):
                    continue  # unset optional fields and messages are left out, as json_format
                value = getattr(message, field)
                if repeated:
                    out[json_name] = [convert(v) for v in value] if convert else list(value)
                else:
                    out[json_name] = convert(value) if convert else value
            return out

        self._planned[name] = _remembered(encode) if name in self._memoized else encode
        for field in descriptor.fields:
            convert = self._converter(field)
            fields.append(
                (field.name, field.json_name, convert, field.is_repeated, field.has_presence)
            )
        return self._planned[name]

    def _converter(self, field: FieldDescriptor) -> Encoder | None:
        if field.type == _FD.TYPE_MESSAGE:
            target = field.message_type
            assert target is not None
            self.plan(target)
            planned, target_name = self._planned, target.full_name
            return lambda value: planned[target_name](value)
        if field.type == _FD.TYPE_ENUM:
            assert field.enum_type is not None
            names = {value.number: value.name for value in field.enum_type.values}
            return lambda number: names.get(number, number)
        if field.type in _INT64:
            return str
        if field.type == _FD.TYPE_FLOAT:
            return _float
        if field.type in _PLAIN:
            return None
        raise _Unplanned(field.full_name)  # double and bytes: not in our protos yet


def _remembered(encode: Encoder) -> Encoder:
    """`encode`, remembering its output by the message's bytes (the output is shared between
    responses: read-only)."""
    memo: dict[bytes, Any] = {}

    def encode_once(message: Any) -> Any:
        key = message.SerializeToString()
        encoded = memo.get(key)
        if encoded is None:
            if len(memo) >= MEMO_ENTRIES:
                memo.clear()  # the memory starts again: a miss costs one encoding
            encoded = memo[key] = encode(message)
        return encoded

    return encode_once


def _float(value: float) -> float | str:
    """A float32 as its shortest decimal (1.3333334, not 1.3333333730697632); NaN and the
    infinities as the strings proto3 JSON names them."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    shortest: float = ToShortestFloat(value)
    return shortest

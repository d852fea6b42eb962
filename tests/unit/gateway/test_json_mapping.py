"""The gateway's planned JSON encoders write exactly what json_format.MessageToDict writes."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.struct_pb2 import Struct
from photoshare.feed.v1 import feed_service_pb2
from photoshare.graph.v1 import graph_service_pb2
from photoshare.media.v1 import media_service_pb2
from photoshare.post.v1 import post_service_pb2

from gateway.json_mapping import JsonMapping

SERVICES = [
    graph_service_pb2.DESCRIPTOR.services_by_name["GraphService"],
    post_service_pb2.DESCRIPTOR.services_by_name["PostService"],
    media_service_pb2.DESCRIPTOR.services_by_name["MediaService"],
    feed_service_pb2.DESCRIPTOR.services_by_name["FeedService"],
]
RESPONSE_TYPES = sorted(
    {m.output_type.full_name: m.output_type for s in SERVICES for m in s.methods}.items()
)
FD = FieldDescriptor


def expected(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def fill(message: Message, rng: random.Random, depth: int = 0) -> None:
    """Sets a random subset of fields to random values, nested messages included."""
    descriptor = message.DESCRIPTOR
    if descriptor.full_name == "google.protobuf.Timestamp":
        message.seconds = rng.randrange(0, 4_000_000_000)  # type: ignore[attr-defined]
        message.nanos = rng.choice([0, 1_000_000, 123_456_789])  # type: ignore[attr-defined]
        return
    if descriptor.full_name == "google.protobuf.FieldMask":
        message.paths.extend(rng.sample(["caption", "display_name", "bio"], 2))  # type: ignore[attr-defined]
        return
    for field in descriptor.fields:
        if rng.random() < 0.25 or (field.type == FD.TYPE_MESSAGE and depth > 4):
            continue  # left unset: defaults and absent messages must come out the same
        count = rng.randrange(0, 4) if field.is_repeated else 1
        for _ in range(count):
            if field.type == FD.TYPE_MESSAGE:
                target = (
                    getattr(message, field.name).add()
                    if field.is_repeated
                    else getattr(message, field.name)
                )
                target.SetInParent()
                fill(target, rng, depth + 1)
                continue
            value = scalar(field, rng)
            if field.is_repeated:
                getattr(message, field.name).append(value)
            else:
                setattr(message, field.name, value)


def scalar(field: Any, rng: random.Random) -> Any:
    if field.type == FD.TYPE_ENUM:
        assert field.enum_type is not None
        numbers = [v.number for v in field.enum_type.values]
        return rng.choice([*numbers, 99])  # 99: a number this build does not know
    if field.type == FD.TYPE_BOOL:
        return rng.random() < 0.5
    if field.type == FD.TYPE_STRING:
        return rng.choice(["", "plain", 'é ✓ "quoted"\n', "🙂" * 3])
    if field.type == FD.TYPE_FLOAT:
        return rng.choice([0.0, 1 / 3, 1.5, -2.75e10, math.inf, math.nan])
    if field.type in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return rng.choice([0, 1, -5, 2**53 + 1, 2**63 - 1])
    if field.type in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return rng.choice([0, 7, 2**64 - 1])
    if field.type in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return rng.choice([0, 3, 2**32 - 1])
    return rng.choice([0, 3, -3, 2**31 - 1])


def same(a: Any, b: Any) -> bool:
    """Equality that takes NaN as equal to NaN (json_format writes it as the string "NaN")."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)


@pytest.mark.parametrize(("name", "descriptor"), RESPONSE_TYPES, ids=[n for n, _ in RESPONSE_TYPES])
def test_every_response_type_encodes_as_json_format_does(name: str, descriptor: Descriptor) -> None:
    mapping = JsonMapping()
    message_class = GetMessageClass(descriptor)
    rng = random.Random(name)
    for _ in range(60):
        message = message_class()
        fill(message, rng)
        assert same(mapping.encode(message), expected(message)), message


def test_an_empty_message_writes_its_fields_without_presence() -> None:
    empty = feed_service_pb2.GetHomeFeedResponse()
    assert JsonMapping().encode(empty) == expected(empty) == {"posts": []}


def test_a_type_it_does_not_plan_for_goes_through_json_format() -> None:
    struct = Struct()
    struct.update({"a": 1, "b": [True, "x"]})
    assert JsonMapping().encode(struct) == expected(struct)


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (0, 0),
        (-1, 0),
        (1_764_471_234, 1),
        (1_764_471_234, 1_000),
        (1_764_471_234, 120_000_000),
        (-62_135_596_800, 0),  # 0001-01-01
        (253_402_300_799, 999_999_999),  # 9999-12-31
    ],
)
def test_timestamps_are_written_as_json_format_writes_them(seconds: int, nanos: int) -> None:
    post = post_service_pb2.Post()
    post.created_at.seconds, post.created_at.nanos = seconds, nanos
    assert JsonMapping().encode(post)["createdAt"] == post.created_at.ToJsonString()


def test_remembered_media_is_encoded_again_when_its_bytes_change() -> None:
    mapping = JsonMapping()
    post = post_service_pb2.Post(id=1)
    post.media.renditions.add(url="https://x/a.jpg", width=320)
    first = mapping.encode(post)
    assert mapping.encode(post)["media"] is first["media"]  # the same bytes: remembered
    post.media.renditions.add(url="https://x/a.avif", width=320)  # AVIF added later
    assert mapping.encode(post) == expected(post)

"""Every kind of event has a topic and a key, so none can be published unrouted."""

from __future__ import annotations

from photoshare.events.v1 import events_pb2

from common.events.base import TOPICS
from common.events.codec import route


def test_every_payload_is_routed_to_a_known_topic_by_its_key() -> None:
    payloads = events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
    assert payloads
    for field in payloads:
        event = events_pb2.Event()
        getattr(event, field.name).SetInParent()
        topic, key = route(event)
        assert topic in TOPICS, field.name
        assert key == "0", field.name

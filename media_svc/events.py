"""The events media_svc emits; it consumes none.

- `MediaProcessed`: an upload became media a post can be published with.
- `MediaUpdated`: renditions (AVIF) were added to published media.
- `MediaFailed`: an upload cannot be used; the reason is for the person posting.
All on the `media` topic, keyed by post id; post_svc consumes them.
"""

from __future__ import annotations

from photoshare.events.v1 import events_pb2
from photoshare.media.v1 import media_pb2

from common.events.base import EventPublisher
from common.events.codec import publish_event


class MediaEventPublisher:
    """The pipeline's MediaEvents, published on the event log."""

    def __init__(self, log: EventPublisher) -> None:
        self._log = log

    async def media_processed(self, post_id: int, author_id: int, media: media_pb2.Media) -> None:
        processed = events_pb2.MediaProcessed(post_id=post_id, author_id=author_id, media=media)
        await publish_event(self._log, events_pb2.Event(media_processed=processed))

    async def media_updated(self, post_id: int, author_id: int, media: media_pb2.Media) -> None:
        updated = events_pb2.MediaUpdated(post_id=post_id, author_id=author_id, media=media)
        await publish_event(self._log, events_pb2.Event(media_updated=updated))

    async def media_failed(self, post_id: int, author_id: int, reason: str) -> None:
        failed = events_pb2.MediaFailed(post_id=post_id, author_id=author_id, reason=reason)
        await publish_event(self._log, events_pb2.Event(media_failed=failed))

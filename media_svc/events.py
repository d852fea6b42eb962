"""The events media_svc emits; it consumes none.

For a post's media (topic `media`, keyed by post id; post_svc consumes them):
- `MediaProcessed`: an upload became media a post can be published with.
- `MediaUpdated`: renditions (AVIF) were added to published media.
- `MediaFailed`: an upload cannot be used; the reason is for the person posting.
For an avatar (topic `media`, keyed by user id; graph_svc consumes them):
- `AvatarProcessed`: the square renditions of a user's new avatar.
- `AvatarFailed`: an avatar upload cannot be used; the reason is for the user.
"""

from __future__ import annotations

from photoshare.events.v1 import events_pb2
from photoshare.media.v1 import media_pb2

from common.events.base import EventPublisher
from common.events.codec import publish_event
from media_svc.models import Upload


class MediaEventPublisher:
    """The pipeline's MediaEvents, published on the event log."""

    def __init__(self, log: EventPublisher) -> None:
        self._log = log

    async def media_processed(self, upload: Upload, media: media_pb2.Media) -> None:
        if upload.media_type == "AVATAR":
            avatar = events_pb2.AvatarProcessed(
                user_id=upload.author_id, upload_id=upload.upload_id, avatar=media
            )
            event = events_pb2.Event(avatar_processed=avatar)
        else:
            processed = events_pb2.MediaProcessed(
                post_id=upload.upload_id, author_id=upload.author_id, media=media
            )
            event = events_pb2.Event(media_processed=processed)
        await publish_event(self._log, event)

    async def media_updated(self, upload: Upload, media: media_pb2.Media) -> None:
        updated = events_pb2.MediaUpdated(
            post_id=upload.upload_id, author_id=upload.author_id, media=media
        )
        await publish_event(self._log, events_pb2.Event(media_updated=updated))

    async def media_failed(self, upload: Upload, reason: str) -> None:
        if upload.media_type == "AVATAR":
            avatar = events_pb2.AvatarFailed(
                user_id=upload.author_id, upload_id=upload.upload_id, reason=reason
            )
            event = events_pb2.Event(avatar_failed=avatar)
        else:
            failed = events_pb2.MediaFailed(
                post_id=upload.upload_id, author_id=upload.author_id, reason=reason
            )
            event = events_pb2.Event(media_failed=failed)
        await publish_event(self._log, event)

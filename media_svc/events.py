"""The events media_svc consumes and emits.

Consumes (group `media`), from the `posts` topic:
- `PostDeleted`: the post's upload URL answers 410 from now on, its original and partial
  bytes are deleted, and its renditions once no other upload uses them.

For a post's media (topic `media`, keyed by post id; post_svc consumes them):
- `MediaProcessed`: an upload became media a post can be published with.
- `MediaUpdated`: renditions (AVIF) were added to published media.
- `MediaFailed`: an upload cannot be used; the reason is for the person posting.
- `MediaDeleted`: renditions nobody uses any more were deleted; their URLs, for a CDN purge
  (no consumer in the mesh: the hook for one).
For an avatar (topic `media`, keyed by user id; graph_svc consumes them):
- `AvatarProcessed`: the square renditions of a user's new avatar.
- `AvatarFailed`: an avatar upload cannot be used; the reason is for the user.
"""

from __future__ import annotations

from collections.abc import Sequence

from photoshare.events.v1 import events_pb2
from photoshare.media.v1 import media_pb2

from common.events.base import TOPIC_POSTS, EventPublisher, EventRecord
from common.events.codec import decode, publish_event
from media_svc.models import Upload
from media_svc.uploads import Uploads


class MediaEventHandler:
    """Takes a deleted post's upload back.

    Example:
        workers = (consumer(event_log, MediaEventHandler(uploads)),)
    """

    group = "media"
    topics = (TOPIC_POSTS,)

    def __init__(self, uploads: Uploads) -> None:
        self._uploads = uploads

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        if event.WhichOneof("payload") == "post_deleted":
            await self._uploads.post_deleted(event.post_deleted.post_id)


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

    async def media_deleted(self, upload: Upload, urls: Sequence[str]) -> None:
        deleted = events_pb2.MediaDeleted(
            upload_id=upload.upload_id, author_id=upload.author_id, urls=urls
        )
        await publish_event(self._log, events_pb2.Event(media_deleted=deleted))

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

"""Uploads and renditions as the domain sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Declared content type -> what its first bytes must look like is in media_svc.formats.
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
# An AVATAR is a photo rendered as squares and announced to graph_svc instead of post_svc.
CONTENT_TYPES = {"PHOTO": PHOTO_TYPES, "VIDEO": VIDEO_TYPES, "AVATAR": PHOTO_TYPES}


class UploadState(enum.Enum):
    OPEN = "OPEN"  # URL handed out, bytes may be arriving (tus)
    RECEIVED = "RECEIVED"  # original stored durably, processing owed
    PUBLISHED = "PUBLISHED"  # JPEG/WebP announced, AVIF still owed
    PROCESSED = "PROCESSED"  # nothing owed
    FAILED = "FAILED"
    DELETED = "DELETED"  # its post was deleted: the URL answers 410, its media is released


@dataclass(frozen=True, slots=True)
class Upload:
    upload_id: int  # the post id (one photo or clip per post), or an avatar's own id
    author_id: int  # the post's author, or the avatar's user
    media_type: str  # PHOTO, VIDEO or AVATAR
    content_type: str
    size_bytes: int
    expires_at_ms: int
    state: UploadState = UploadState.OPEN
    failure_reason: str | None = None
    # The serialized photoshare.media.v1.Media once published, to re-announce it.
    media: bytes | None = None
    sha256: str | None = None  # of the original, once received
    attempts: int = 0  # processing attempts started
    updated_at_ms: int = 0

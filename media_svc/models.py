"""Uploads and renditions as the domain sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

# Declared content type -> what its first bytes must look like is in media_svc.formats.
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")


class UploadState(enum.Enum):
    OPEN = "OPEN"  # URL handed out, no bytes yet
    RECEIVED = "RECEIVED"  # original stored durably, processing owed
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Upload:
    upload_id: int  # the post id: one photo per post
    author_id: int
    media_type: str
    content_type: str
    size_bytes: int
    expires_at_ms: int
    state: UploadState = UploadState.OPEN
    failure_reason: str | None = None
    # The serialized photoshare.media.v1.Media once processed, to re-announce it.
    media: bytes | None = None


@dataclass(frozen=True, slots=True)
class RenderedImage:
    size: str  # THUMBNAIL, FEED or FULL
    content_type: str
    extension: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True, slots=True)
class RenderResult:
    width: int  # of the upright original
    height: int
    renditions: list[RenderedImage]


class RejectedImage(Exception):
    """The bytes are not a photo we can publish; the message is for the person posting."""

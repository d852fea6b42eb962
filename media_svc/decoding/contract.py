"""What the service and a worker process say to each other: one JSON line each way.

The service sends a `Job` (and, once, the `WorkerLimits` on the command line); the worker
answers a `RenderResult` or a rejection. This module is all the service knows of the
decoding side, so it imports nothing that decodes.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class JobKind(enum.StrEnum):
    PHOTO = "photo"  # JPEG and WebP renditions, placeholder
    AVIF = "avif"  # AVIF renditions of a published photo, made in the background
    VIDEO = "video"  # poster renditions and a 720p H.264 MP4
    AVATAR = "avatar"  # square JPEG and WebP renditions, placeholder


# A photo job leaves the image it decoded (upright sRGB, at most 1080 wide) in its out_dir
# under this name, as raw pixels after a small header (imaging.py); the AVIF job is given that
# file, with DECODED_TYPE as its content type, instead of the original to decode again.
DECODED_NAME = "decoded.pixels"
DECODED_TYPE = "image/x-photoshare-decoded"


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_pixels: int = 50_000_000
    max_side: int = 16_384
    max_frames: int = 16  # pages of a HEIC collection or an animation; only the first is used


@dataclass(frozen=True, slots=True)
class VideoLimits:
    max_duration_s: float = 60.0
    max_side: int = 4096
    max_fps: float = 120.0
    timeout_s: float = 120.0  # wall clock per ffmpeg run
    cpu_s: int = 600
    memory_bytes: int = 2 * 1024**3
    max_output_bytes: int = 512 * 1024**2


@dataclass(frozen=True, slots=True)
class WorkerLimits:
    """What a worker process enforces on every file; passed as JSON in its argv."""

    image: ImageLimits
    video: VideoLimits

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerLimits:
        data = json.loads(text)
        return cls(ImageLimits(**data["image"]), VideoLimits(**data["video"]))


@dataclass(frozen=True, slots=True)
class Job:
    kind: JobKind
    source: Path  # the original, read only
    content_type: str  # as declared (and sniffed) at upload
    out_dir: Path  # an empty folder for the renditions

    def to_wire(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "source": str(self.source),
            "content_type": self.content_type,
            "out_dir": str(self.out_dir),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Job:
        return cls(
            JobKind(data["kind"]), Path(data["source"]), data["content_type"], Path(data["out_dir"])
        )


@dataclass(frozen=True, slots=True)
class RenderedFile:
    size: str  # THUMBNAIL, FEED or FULL
    content_type: str
    extension: str
    width: int
    height: int
    path: Path


@dataclass(frozen=True, slots=True)
class Placeholder:
    blurhash: str
    color: str  # #rrggbb


@dataclass(frozen=True, slots=True)
class RenderResult:
    width: int  # of the upright original
    height: int
    renditions: list[RenderedFile]
    placeholder: Placeholder | None = None
    duration_ms: int = 0


class RejectedMedia(Exception):
    """The bytes are not media we can publish; the message is for the person posting."""


def rejection_to_wire(reason: str) -> dict[str, Any]:
    return {"rejected": reason}


def result_to_wire(result: RenderResult) -> dict[str, Any]:
    return {
        "result": {
            "width": result.width,
            "height": result.height,
            "duration_ms": result.duration_ms,
            "placeholder": (
                [result.placeholder.blurhash, result.placeholder.color]
                if result.placeholder
                else None
            ),
            "renditions": [
                [r.size, r.content_type, r.extension, r.width, r.height, str(r.path)]
                for r in result.renditions
            ],
        }
    }


def answer_from_wire(answer: dict[str, Any]) -> RenderResult:
    """The worker's answer as a result; raises RejectedMedia for a rejection."""
    if "rejected" in answer:
        raise RejectedMedia(str(answer["rejected"]))
    data = answer["result"]
    placeholder = data["placeholder"]
    return RenderResult(
        width=int(data["width"]),
        height=int(data["height"]),
        renditions=[
            RenderedFile(str(size), str(ctype), str(ext), int(w), int(h), Path(path))
            for size, ctype, ext, w, h, path in data["renditions"]
        ],
        placeholder=Placeholder(*placeholder) if placeholder else None,
        duration_ms=int(data["duration_ms"]),
    )

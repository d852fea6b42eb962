"""The photo pipeline on libvips: check, auto-rotate, resize, strip metadata, encode.

Everything here blocks (libvips releases the GIL); callers run it in a thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyvips

from media_svc.models import RejectedImage, RenderedImage, RenderResult

# Content type -> the libvips loader that must have recognised the file.
LOADERS = {
    "image/jpeg": "jpegload",
    "image/png": "pngload",
    "image/webp": "webpload",
    "image/heic": "heifload",
}
_ALLOWED_LOADERS = (
    "VipsForeignLoadJpeg",
    "VipsForeignLoadPng",
    "VipsForeignLoadWebp",
    "VipsForeignLoadHeif",
)
# Metadata a rendition may keep: geometry only; EXIF (GPS!), XMP, IPTC and ICC go.
_KEEP_FIELDS = {
    "width",
    "height",
    "bands",
    "format",
    "coding",
    "interpretation",
    "xoffset",
    "yoffset",
    "xres",
    "yres",
}
_UNBOUNDED = 10_000_000  # thumbnail() box height that never binds: widths decide
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}


def lock_down() -> None:
    """Only our four loaders may run on untrusted bytes (no SVG, PDF, ImageMagick...)."""
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    for name in _ALLOWED_LOADERS:
        pyvips.operation_block_set(name, False)


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_pixels: int = 50_000_000
    max_side: int = 16_384


class PhotoRenderer:
    """Renders a thumbnail (150x150 centre crop), a feed (640 wide) and a full (1080 wide)
    rendition, each as JPEG and WebP, upright and without metadata."""

    def __init__(self, limits: ImageLimits) -> None:
        self._limits = limits

    def render(self, path: Path, content_type: str) -> RenderResult:
        try:
            return self._render(path, content_type)
        except pyvips.Error as exc:
            raise RejectedImage(f"the photo could not be decoded: {_vips_reason(exc)}") from exc

    def _render(self, path: Path, content_type: str) -> RenderResult:
        # Reads the header only: size and format are known before a pixel is decoded.
        header = pyvips.Image.new_from_file(str(path), access="sequential")
        self._check_header(header, content_type)
        full = pyvips.Image.thumbnail(
            f"{path}[fail_on=error]", 1080, height=_UNBOUNDED, size="down"
        )
        full = _to_srgb(full).copy_memory()  # decodes everything once; corrupt data fails here
        feed = full.thumbnail_image(640, height=_UNBOUNDED, size="down")
        thumb = full.thumbnail_image(150, height=150, crop="centre")
        renditions: list[RenderedImage] = []
        for size, image in (("THUMBNAIL", thumb), ("FEED", feed), ("FULL", full)):
            renditions += _encode(size, _strip(image))
        width, height = header.width, header.height
        if _orientation(header) in _SWAPPING_ORIENTATIONS:
            width, height = height, width
        return RenderResult(width, height, renditions)

    def _check_header(self, header: pyvips.Image, content_type: str) -> None:
        loader = header.get("vips-loader")
        if loader != LOADERS.get(content_type):
            raise RejectedImage(f"the file is not a valid {content_type} image")
        if content_type == "image/heic" and _field(header, "heif-compression") not in (
            None,
            "hevc",
        ):
            raise RejectedImage("the file is not a HEIC photo (it is AVIF or another HEIF kind)")
        width, height = header.width, header.height
        if max(width, height) > self._limits.max_side:
            raise RejectedImage(
                f"the photo is {width}x{height}; no side may exceed {self._limits.max_side} pixels"
            )
        if width * height > self._limits.max_pixels:
            raise RejectedImage(
                f"the photo has {width * height / 1e6:.1f} megapixels; "
                f"at most {self._limits.max_pixels / 1e6:.0f} are allowed"
            )


def _to_srgb(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation not in ("srgb", "b-w"):
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _strip(image: pyvips.Image) -> pyvips.Image:
    image = image.copy()
    for name in image.get_fields():
        if name not in _KEEP_FIELDS:
            image.remove(name)
    return image


def _encode(size: str, image: pyvips.Image) -> list[RenderedImage]:
    opaque = image.flatten(background=[255]) if image.hasalpha() else image
    jpeg = opaque.write_to_buffer(".jpg", Q=82, strip=True, optimize_coding=True, interlace=True)
    webp = drop_webp_metadata(image.write_to_buffer(".webp", Q=80, strip=True))
    return [
        RenderedImage(size, "image/jpeg", "jpg", image.width, image.height, jpeg),
        RenderedImage(size, "image/webp", "webp", image.width, image.height, webp),
    ]


_WEBP_METADATA_CHUNKS = (b"EXIF", b"XMP ", b"ICCP")
_VP8X_METADATA_FLAGS = 0x20 | 0x08 | 0x04  # ICC, EXIF, XMP


def drop_webp_metadata(data: bytes) -> bytes:
    """Removes EXIF, XMP and ICC chunks from a WebP file.

    libvips 8.14 (Debian bookworm) writes a small EXIF block into WebP even with strip=True.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP file")
    chunks: list[bytes] = []
    offset = 12
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        chunk = bytearray(data[offset : offset + 8 + size + (size & 1)])
        offset += len(chunk)
        if kind in _WEBP_METADATA_CHUNKS:
            continue
        if kind == b"VP8X":
            chunk[8] &= ~_VP8X_METADATA_FLAGS & 0xFF
        chunks.append(bytes(chunk))
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _field(image: pyvips.Image, name: str) -> str | None:
    return str(image.get(name)) if image.get_typeof(name) else None


def _orientation(image: pyvips.Image) -> int:
    return int(image.get("orientation")) if image.get_typeof("orientation") else 1


def _vips_reason(exc: pyvips.Error) -> str:
    """libvips' own words, without its call-stack lines: 'premature end of data segment'."""
    lines = [line.strip() for line in str(exc.detail or exc.message).splitlines() if line.strip()]
    for line in lines:
        if ":" in line and not line.startswith("unable to"):
            return line.split(":", 1)[1].strip().removeprefix("Corrupt JPEG data: ")
    return lines[0] if lines else "unknown error"

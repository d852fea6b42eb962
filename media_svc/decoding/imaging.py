"""The photo pipeline on libvips: check, auto-rotate, resize, strip metadata, encode.

Everything here blocks and parses untrusted bytes: it runs in worker processes only.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blurhash
import pyvips

from media_svc.decoding.contract import (
    DECODED_NAME,
    DECODED_TYPE,
    ImageLimits,
    Placeholder,
    RejectedMedia,
    RenderedFile,
    RenderResult,
)
from media_svc.decoding.inspection import find_embedded_content

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


# (size class, width, height or None to keep the aspect ratio)
SIZES = (("THUMBNAIL", 150, 150), ("FEED", 640, None), ("FULL", 1080, None))
AVATAR_SIZES = (("THUMBNAIL", 150, 150), ("FEED", 320, 320))
# The cores a photo's encoders share: JPEG and WebP encoders are single-threaded each.
ENCODER_THREADS = 2
# libwebp's method 2 instead of the default 4: a 1080-wide WebP in 31 ms instead of 67, for
# files about 6 % larger (AVIF is what capable clients take).
WEBP_EFFORT = 2
# The placeholder is hashed from a copy this small: 4x3 components need no more, and the
# hashing is pure Python (~30 ms at 32 pixels).
PLACEHOLDER_SIDE = 20
AVIF_QUALITY = 50
AVIF_EFFORT = 2  # libaom speed 7: 1080 wide in ~0.3 s on one core; higher effort costs seconds


class PhotoRenderer:
    """Renders a thumbnail (150x150 centre crop), a feed (640 wide) and a full (1080 wide)
    rendition, each as JPEG and WebP (and, later, AVIF), upright and without metadata; an
    avatar as 150x150 and 320x320 squares.

    Every method blocks and decodes untrusted bytes: call them in a worker process.
    """

    def __init__(self, limits: ImageLimits) -> None:
        self._limits = limits

    def render(self, path: Path, content_type: str, out_dir: Path) -> RenderResult:
        """JPEG and WebP renditions written into out_dir, plus the placeholder; and the
        decoded image, for the AVIF job (DECODED_NAME)."""
        return self._render(path, content_type, out_dir, keep_decoded=True)

    def render_still(self, path: Path, content_type: str, out_dir: Path) -> RenderResult:
        """As `render`, for a still no AVIF job follows (a video's poster)."""
        return self._render(path, content_type, out_dir, keep_decoded=False)

    def _render(
        self, path: Path, content_type: str, out_dir: Path, *, keep_decoded: bool
    ) -> RenderResult:
        full, header = self._decode(path, content_type)
        renditions, hashed = _encode_all(_sized(full), out_dir, full)
        if keep_decoded:
            save_pixels(full, out_dir / DECODED_NAME)
        width, height = _upright_size(header)
        return RenderResult(width, height, renditions, hashed)

    def render_avatar(self, path: Path, content_type: str, out_dir: Path) -> RenderResult:
        """Square JPEG and WebP renditions written into out_dir, plus the placeholder."""
        full, header = self._decode(path, content_type)
        renditions, hashed = _encode_all(_sized(full, AVATAR_SIZES), out_dir, full)
        width, height = _upright_size(header)
        return RenderResult(width, height, renditions, hashed)

    def render_avif(self, path: Path, content_type: str, out_dir: Path) -> RenderResult:
        """AVIF renditions, from the photo job's decoded image when `content_type` is
        DECODED_TYPE (written by `render` itself: no second decode), else from the original."""
        if content_type == DECODED_TYPE:
            full = header = load_pixels(path)
        else:
            full, header = self._decode(path, content_type)
        renditions = []
        for size, image in _sized(full):
            target = out_dir / f"{size.lower()}.avif"
            image.heifsave(
                str(target), compression="av1", Q=AVIF_QUALITY, effort=AVIF_EFFORT, strip=True
            )
            renditions.append(
                RenderedFile(size, "image/avif", "avif", image.width, image.height, target)
            )
        width, height = _upright_size(header)
        return RenderResult(width, height, renditions)

    def _decode(self, path: Path, content_type: str) -> tuple[pyvips.Image, pyvips.Image]:
        """(the upright sRGB image at most 1080 wide, in memory; the original's header)."""
        reason = find_embedded_content(path.read_bytes())
        if reason:
            raise RejectedMedia(reason)
        try:
            # Reads the header only: size and format are known before a pixel is decoded.
            header = pyvips.Image.new_from_file(str(path), access="sequential")
            self._check_header(header, content_type)
            # Decodes everything once; corrupt or truncated data fails here. fail_on must be a
            # keyword: thumbnail ignores options in the file name ("file.jpg[fail_on=...]").
            full = pyvips.Image.thumbnail(
                str(path), 1080, height=_UNBOUNDED, size="down", fail_on="error"
            )
            return _to_srgb(full).copy_memory(), header
        except pyvips.Error as exc:
            # libvips names the file; the person posting needs no server paths.
            reason = _vips_reason(exc).replace(f'"{path}"', "it").replace(str(path), "it")
            raise RejectedMedia(f"the photo could not be decoded: {reason}") from exc

    def _check_header(self, header: pyvips.Image, content_type: str) -> None:
        loader = header.get("vips-loader")
        if loader != LOADERS.get(content_type):
            raise RejectedMedia(f"the file is not a valid {content_type} image")
        if content_type == "image/heic" and _field(header, "heif-compression") not in (
            None,
            "hevc",
        ):
            raise RejectedMedia("the file is not a HEIC photo (it is AVIF or another HEIF kind)")
        width, height = header.width, header.height
        if max(width, height) > self._limits.max_side:
            raise RejectedMedia(
                f"the photo is {width}x{height}; no side may exceed {self._limits.max_side} pixels"
            )
        if width * height > self._limits.max_pixels:
            raise RejectedMedia(
                f"the photo has {width * height / 1e6:.1f} megapixels; "
                f"at most {self._limits.max_pixels / 1e6:.0f} are allowed"
            )
        frames = int(header.get("n-pages")) if header.get_typeof("n-pages") else 1
        if frames > self._limits.max_frames:
            raise RejectedMedia(
                f"the file holds {frames} images; at most {self._limits.max_frames} are allowed"
            )


_PIXELS_HEADER = struct.Struct("<III")  # width, height, bands; then uchar pixels, row by row


def save_pixels(image: pyvips.Image, path: Path) -> None:
    """The decoded image as raw pixels (a few ms for 1080 wide): read back with no loader,
    so nothing beyond the four locked-down ones ever parses a file."""
    path.write_bytes(_PIXELS_HEADER.pack(image.width, image.height, image.bands))
    with path.open("ab") as file:
        file.write(image.write_to_memory())


def load_pixels(path: Path) -> pyvips.Image:
    data = path.read_bytes()
    width, height, bands = _PIXELS_HEADER.unpack_from(data)
    pixels = data[_PIXELS_HEADER.size :]
    if len(pixels) != width * height * bands:
        raise RejectedMedia("the decoded image is incomplete")
    image = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
    return image.copy(interpretation="b-w" if bands < 3 else "srgb")


def placeholder(image: pyvips.Image) -> Placeholder:
    """A BlurHash of a copy at most PLACEHOLDER_SIDE pixels wide and high, and the average
    colour."""
    small = _opaque(image.thumbnail_image(PLACEHOLDER_SIDE, height=PLACEHOLDER_SIDE))
    if small.bands == 1:
        small = small.colourspace("srgb")
    pixels = _rows(small)
    average = [round(small.extract_band(band).avg()) for band in range(3)]
    return Placeholder(
        blurhash.encode(pixels, components_x=4, components_y=3),
        "#" + "".join(f"{value:02x}" for value in average),
    )


def _rows(image: pyvips.Image) -> list[list[list[int]]]:
    data = image.extract_band(0, n=3).write_to_memory()
    width = image.width
    return [
        [list(data[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)]
        for y in range(image.height)
    ]


def _sized(
    full: pyvips.Image, sizes: Sequence[tuple[str, int, int | None]] = SIZES
) -> list[tuple[str, pyvips.Image]]:
    sized = []
    for size, width, height in sizes:
        if height is None:
            image = full.thumbnail_image(width, height=_UNBOUNDED, size="down")
        else:
            image = full.thumbnail_image(width, height=height, crop="centre")
        sized.append((size, _strip(image)))
    return sized


def _upright_size(header: pyvips.Image) -> tuple[int, int]:
    width, height = header.width, header.height
    if _orientation(header) in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return width, height


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


def _opaque(image: pyvips.Image) -> pyvips.Image:
    return image.flatten(background=[255]) if image.hasalpha() else image


def _encode_all(
    sized: Sequence[tuple[str, pyvips.Image]], out_dir: Path, full: pyvips.Image
) -> tuple[list[RenderedFile], Placeholder]:
    """Every size as JPEG and WebP, encoded on ENCODER_THREADS threads (libvips releases the
    GIL, and each encoder is single-threaded), while this thread makes the placeholder."""
    # Largest first, so that the last one to start is a small one.
    jobs = [(size, image, kind) for size, image in reversed(sized) for kind in ("webp", "jpg")]
    with ThreadPoolExecutor(ENCODER_THREADS) as pool:
        encoding = [pool.submit(_encode, size, image, kind, out_dir) for size, image, kind in jobs]
        hashed = placeholder(full)
        files = {(f.size, f.extension): f for f in (job.result() for job in encoding)}
    # In the order clients have always seen: by size, JPEG before WebP.
    ordered = [files[(size, kind)] for size, _ in sized for kind in ("jpg", "webp")]
    return ordered, hashed


def _encode(size: str, image: pyvips.Image, extension: str, out_dir: Path) -> RenderedFile:
    if extension == "jpg":
        content_type = "image/jpeg"
        data = _opaque(image).write_to_buffer(
            ".jpg", Q=82, strip=True, optimize_coding=True, interlace=True
        )
    else:
        content_type = "image/webp"
        data = drop_webp_metadata(
            image.write_to_buffer(".webp", Q=80, strip=True, effort=WEBP_EFFORT)
        )
    target = out_dir / f"{size.lower()}.{extension}"
    target.write_bytes(data)
    return RenderedFile(size, content_type, extension, image.width, image.height, target)


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

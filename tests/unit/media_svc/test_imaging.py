"""The photo pipeline on the real samples: upright, stripped, sized, and bad files refused."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
import pyvips

from media_svc.formats import sniff
from media_svc.imaging import ImageLimits, PhotoRenderer, drop_webp_metadata, lock_down
from media_svc.models import RejectedImage, RenderResult

lock_down()
RENDERER = PhotoRenderer(ImageLimits())


def render(path: Path) -> RenderResult:
    return RENDERER.render(path, sniff(path.read_bytes()[:16]) or "image/jpeg")


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def metadata_fields(data: bytes) -> list[str]:
    image = pyvips.Image.new_from_buffer(data, "")
    return [f for f in image.get_fields() if f.startswith(("exif", "xmp", "iptc", "icc", "orient"))]


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_every_exif_orientation_renders_upright_landscape(samples: Path, orientation: int) -> None:
    result = render(samples / "orientation" / f"Landscape_{orientation}.jpg")
    assert (result.width, result.height) == (1800, 1200)
    sizes = {(r.size, r.content_type): (r.width, r.height) for r in result.renditions}
    assert sizes == {
        ("THUMBNAIL", "image/jpeg"): (150, 150),
        ("THUMBNAIL", "image/webp"): (150, 150),
        ("FEED", "image/jpeg"): (640, 427),
        ("FEED", "image/webp"): (640, 427),
        ("FULL", "image/jpeg"): (1080, 720),
        ("FULL", "image/webp"): (1080, 720),
    }


def test_orientations_look_alike(samples: Path) -> None:
    # Rotated wrongly, the pictures would differ far more than JPEG noise.
    feeds = []
    for orientation in (1, 3, 6, 8):
        result = render(samples / "orientation" / f"Landscape_{orientation}.jpg")
        feed = next(r for r in result.renditions if r.size == "FEED" and r.extension == "jpg")
        feeds.append(pyvips.Image.new_from_buffer(feed.data, ""))
    for other in feeds[1:]:
        assert (feeds[0] - other).abs().avg() < 8


@pytest.mark.parametrize(
    "name", ["camera/DSCN0010_gps.jpg", "heif/IMG_5195.HEIC", "camera/Canon_40D.jpg"]
)
def test_metadata_and_gps_are_stripped(samples: Path, name: str) -> None:
    for rendition in render(samples / name).renditions:
        assert metadata_fields(rendition.data) == []
        assert b"GPS" not in rendition.data


def test_iphone_heic_is_accepted_and_upright(samples: Path) -> None:
    result = render(samples / "heif" / "IMG_5195.HEIC")
    assert (result.width, result.height) == (2566, 3313)
    full = next(r for r in result.renditions if r.size == "FULL")
    assert (full.width, full.height) == (1080, 1394)


def test_small_photos_are_not_upscaled_and_broken_exif_is_harmless(samples: Path) -> None:
    result = render(samples / "camera" / "broken_exif.jpg")
    feed = next(r for r in result.renditions if r.size == "FEED")
    assert (feed.width, feed.height) == (88, 64)


@pytest.mark.parametrize(
    ("name", "content_type", "reason"),
    [
        ("bad/corrupted.jpg", "image/jpeg", "premature end of data segment"),
        ("bad/heic_clap_overflow.heic", "image/heic", "could not be decoded"),
        ("bad/heic_github_15.heic", "image/heic", "could not be decoded"),
        ("heif/example.avif", "image/heic", "not a HEIC photo"),
        ("camera/Canon_40D.jpg", "image/png", "not a valid image/png"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(
    samples: Path, name: str, content_type: str, reason: str
) -> None:
    with pytest.raises(RejectedImage, match=reason):
        RENDERER.render(samples / name, content_type)


def test_pixel_limits_are_checked_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(20_000, 20_000))  # claims 400 MP in a few bytes
    with pytest.raises(RejectedImage, match="no side may exceed"):
        PhotoRenderer(ImageLimits(max_pixels=50_000_000, max_side=16_384)).render(bomb, "image/png")
    with pytest.raises(RejectedImage, match="megapixels"):
        PhotoRenderer(ImageLimits(max_pixels=1_000_000, max_side=30_000)).render(bomb, "image/png")


def test_svg_loader_is_blocked(tmp_path: Path) -> None:
    svg = tmp_path / "x.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    with pytest.raises(pyvips.Error, match=r"blocked|not a known"):
        pyvips.Image.new_from_file(str(svg)).avg()


def test_webp_metadata_chunks_are_dropped() -> None:
    image = pyvips.Image.black(8, 8).copy()
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "Spy camera")
    data = image.write_to_buffer(".webp")
    cleaned = drop_webp_metadata(data)
    assert metadata_fields(cleaned) == []
    assert pyvips.Image.new_from_buffer(cleaned, "").width == 8


def test_sniff_recognises_each_format(samples: Path) -> None:
    assert sniff((samples / "camera" / "Canon_40D.jpg").read_bytes()[:16]) == "image/jpeg"
    assert sniff((samples / "heif" / "IMG_5195.HEIC").read_bytes()[:16]) == "image/heic"
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\0" * 8) == "image/png"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"<svg xmlns=...") is None

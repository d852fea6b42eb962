"""The photo pipeline on the real samples: upright, stripped, sized, and bad files refused."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import pyvips

from media_svc.decoding.contract import (
    DECODED_NAME,
    DECODED_TYPE,
    ImageLimits,
    RejectedMedia,
    RenderResult,
)
from media_svc.decoding.imaging import PhotoRenderer, drop_webp_metadata, lock_down
from media_svc.decoding.inspection import find_embedded_content
from media_svc.formats import sniff
from tests.media_files import png_header

lock_down()
RENDERER = PhotoRenderer(ImageLimits())


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path


def render(path: Path, out_dir: Path) -> RenderResult:
    return RENDERER.render(path, sniff(path.read_bytes()[:16]) or "image/jpeg", out_dir)


def metadata_fields(data: bytes) -> list[str]:
    image = pyvips.Image.new_from_buffer(data, "")
    return [f for f in image.get_fields() if f.startswith(("exif", "xmp", "iptc", "icc", "orient"))]


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_every_exif_orientation_renders_upright_landscape(
    samples: Path, orientation: int, out: Path
) -> None:
    result = render(samples / "orientation" / f"Landscape_{orientation}.jpg", out)
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


@pytest.mark.parametrize("orientation", [1, 6])
def test_an_avatar_is_upright_square_jpeg_and_webp_without_metadata(
    samples: Path, orientation: int, out: Path
) -> None:
    source = samples / "orientation" / f"Landscape_{orientation}.jpg"
    result = RENDERER.render_avatar(source, "image/jpeg", out)
    sizes = {(r.size, r.content_type): (r.width, r.height) for r in result.renditions}
    assert sizes == {
        ("THUMBNAIL", "image/jpeg"): (150, 150),
        ("THUMBNAIL", "image/webp"): (150, 150),
        ("FEED", "image/jpeg"): (320, 320),
        ("FEED", "image/webp"): (320, 320),
    }
    assert (result.width, result.height) == (1800, 1200)  # upright
    assert result.placeholder is not None
    for rendition in result.renditions:
        assert metadata_fields(rendition.path.read_bytes()) == []


def test_orientations_look_alike(samples: Path, tmp_path: Path) -> None:
    # Rotated wrongly, the pictures would differ far more than JPEG noise.
    feeds = []
    for orientation in (1, 3, 6, 8):
        out = tmp_path / str(orientation)
        out.mkdir()
        result = render(samples / "orientation" / f"Landscape_{orientation}.jpg", out)
        feed = next(r for r in result.renditions if r.size == "FEED" and r.extension == "jpg")
        feeds.append(pyvips.Image.new_from_file(str(feed.path)))
    for other in feeds[1:]:
        assert (feeds[0] - other).abs().avg() < 8


@pytest.mark.parametrize(
    "name", ["camera/DSCN0010_gps.jpg", "heif/IMG_5195.HEIC", "camera/Canon_40D.jpg"]
)
def test_metadata_and_gps_are_stripped(samples: Path, name: str, out: Path) -> None:
    avif = RENDERER.render_avif(samples / name, sniff_file(samples / name), out)
    renditions = render(samples / name, out).renditions + avif.renditions
    assert {r.extension for r in renditions} == {"jpg", "webp", "avif"}
    for rendition in renditions:
        data = rendition.path.read_bytes()
        assert metadata_fields(data) == []
        assert b"GPS" not in data
        assert b"Exif" not in data


def test_iphone_heic_is_accepted_and_upright(samples: Path, out: Path) -> None:
    result = render(samples / "heif" / "IMG_5195.HEIC", out)
    assert (result.width, result.height) == (2566, 3313)
    full = next(r for r in result.renditions if r.size == "FULL")
    assert (full.width, full.height) == (1080, 1394)


def test_small_photos_are_not_upscaled_and_broken_exif_is_harmless(
    samples: Path, out: Path
) -> None:
    result = render(samples / "camera" / "broken_exif.jpg", out)
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
    samples: Path, name: str, content_type: str, reason: str, out: Path
) -> None:
    with pytest.raises(RejectedMedia, match=reason) as refused:
        RENDERER.render(samples / name, content_type, out)
    assert str(samples) not in str(refused.value)  # no server paths in a user-facing reason


@pytest.mark.parametrize("kept", [0.5, 0.9])
def test_a_truncated_photo_is_rejected_not_published_grey(
    samples: Path, kept: float, tmp_path: Path
) -> None:
    whole = (samples / "camera" / "jolla_phone.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: int(len(whole) * kept)])
    with pytest.raises(RejectedMedia, match="could not be decoded"):
        RENDERER.render(cut, "image/jpeg", tmp_path)


def test_pixel_limits_are_checked_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(20_000, 20_000))  # claims 400 MP in a few bytes
    with pytest.raises(RejectedMedia, match="no side may exceed"):
        PhotoRenderer(ImageLimits(max_pixels=50_000_000, max_side=16_384)).render(
            bomb, "image/png", tmp_path
        )
    with pytest.raises(RejectedMedia, match="megapixels"):
        PhotoRenderer(ImageLimits(max_pixels=1_000_000, max_side=30_000)).render(
            bomb, "image/png", tmp_path
        )


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


def sniff_file(path: Path) -> str:
    return sniff(path.read_bytes()[:16]) or ""


def test_placeholder_and_aspect_ratio_come_with_every_photo(samples: Path, out: Path) -> None:
    result = render(samples / "heif" / "IMG_5195.HEIC", out)
    assert result.placeholder is not None
    assert len(result.placeholder.blurhash) == 28  # 4x3 components
    assert result.placeholder.color.startswith("#")
    assert len(result.placeholder.color) == 7
    black = out / "black.png"
    pyvips.Image.black(64, 32).pngsave(str(black))
    assert render(black, out).placeholder.color == "#000000"  # type: ignore[union-attr]


def test_frame_counts_are_checked_before_decoding(tmp_path: Path) -> None:
    frames = pyvips.Image.arrayjoin(
        [pyvips.Image.black(8, 8) + 12 * i for i in range(20)], across=1
    )
    frames = frames.cast("uchar").copy()
    frames.set_type(pyvips.GValue.gint_type, "page-height", 8)
    animated = tmp_path / "many.webp"
    frames.webpsave(str(animated), lossless=True)
    with pytest.raises(RejectedMedia, match="holds 20 images; at most 16"):
        RENDERER.render(animated, "image/webp", tmp_path)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"<script>alert(1)</script>", "web page markup"),
        (b"<svg onload=alert(1)>", "web page markup"),
        (b"<?php system($_GET[1]); ?>", "web page markup"),
        (None, "ZIP archive"),
    ],
)
def test_polyglots_are_refused(
    samples: Path, tmp_path: Path, payload: bytes | None, reason: str
) -> None:
    photo = (samples / "camera" / "Canon_40D.jpg").read_bytes()
    if payload is None:  # a JPEG that is also a ZIP (the old GIFAR trick)
        zipped = tmp_path / "x.zip"
        import zipfile

        with zipfile.ZipFile(zipped, "w") as archive:
            archive.writestr("evil.html", "<b>hi</b>")
        data = photo + zipped.read_bytes()
    else:  # markup in a JPEG comment segment, where a sniffing browser would find it
        comment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
        data = photo[:2] + comment + photo[2:]
    polyglot = tmp_path / "polyglot.jpg"
    polyglot.write_bytes(data)
    assert find_embedded_content(data) is not None
    with pytest.raises(RejectedMedia, match=reason):
        RENDERER.render(polyglot, "image/jpeg", tmp_path)


def test_ordinary_photos_are_not_polyglots(samples: Path) -> None:
    for path in samples.glob("*/*"):
        if path.parent.name != "bad" and path.suffix != ".md":
            assert find_embedded_content(path.read_bytes()) is None, path


def test_sniff_recognises_each_format(samples: Path) -> None:
    assert sniff((samples / "camera" / "Canon_40D.jpg").read_bytes()[:16]) == "image/jpeg"
    assert sniff((samples / "heif" / "IMG_5195.HEIC").read_bytes()[:16]) == "image/heic"
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\0" * 8) == "image/png"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"<svg xmlns=...") == "image/svg+xml"
    assert sniff(b"\0\0\0\x14ftypqt  \0\0\0\0") == "video/quicktime"
    assert sniff(b"\0\0\0\x18ftypmp42\0\0\0\0") == "video/mp4"
    assert sniff(b"GIF89a\1\0\1\0") == "image/gif"


def test_avif_is_made_from_the_photo_jobs_decoded_image(samples: Path, out: Path) -> None:
    original = out / "original.jpg"
    original.write_bytes((samples / "orientation" / "Landscape_6.jpg").read_bytes())
    photo = render(original, out)
    original.unlink()  # not needed again
    avif = RENDERER.render_avif(out / DECODED_NAME, DECODED_TYPE, out)
    feed_jpeg = next(r for r in photo.renditions if r.size == "FEED" and r.extension == "jpg")
    feed_avif = next(r for r in avif.renditions if r.size == "FEED")
    assert (feed_avif.width, feed_avif.height) == (feed_jpeg.width, feed_jpeg.height)
    upright = pyvips.Image.new_from_file(str(feed_avif.path))
    assert (upright - pyvips.Image.new_from_file(str(feed_jpeg.path))).abs().avg() < 8

"""The video pipeline on real ffmpeg: limits are checked before any transcode, and every
refusal has a reason for the person posting."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from media_svc.decoding.contract import DECODED_NAME, ImageLimits, RejectedMedia, VideoLimits
from media_svc.decoding.imaging import PhotoRenderer, lock_down
from media_svc.decoding.video import VideoRenderer
from tests.media_files import make_clip

lock_down()


def clip(path: Path, codec: str, *, seconds: float = 1.0, size: str = "320x240") -> Path:
    return make_clip(path, size=size, seconds=seconds, codec=("-c:v", codec), rate=25, audio=False)


def renderer(**limits: float) -> VideoRenderer:
    return VideoRenderer(VideoLimits(**limits), PhotoRenderer(ImageLimits()))  # type: ignore[arg-type]


def test_a_short_h264_clip_becomes_poster_renditions_and_an_mp4(tmp_path: Path) -> None:
    result = renderer().render(
        clip(tmp_path / "in.mov", "libx264", seconds=1.5), "video/quicktime", tmp_path
    )
    assert (result.width, result.height) == (320, 240)
    assert result.duration_ms == pytest.approx(1500, abs=50)  # the container may round up
    kinds = sorted((r.size, r.content_type) for r in result.renditions)
    assert ("FULL", "video/mp4") in kinds
    assert ("THUMBNAIL", "image/webp") in kinds
    assert result.placeholder is not None
    assert not (tmp_path / DECODED_NAME).exists()  # no AVIF job follows a poster


@pytest.mark.parametrize("size", ["1366x768", "768x1366", "1000x750", "480x270", "1282x722"])
def test_the_mp4s_size_is_what_ffmpeg_made(tmp_path: Path, size: str) -> None:
    result = renderer().render(
        clip(tmp_path / "in.mov", "libx264", seconds=0.2, size=size), "video/quicktime", tmp_path
    )
    [movie] = [r for r in result.renditions if r.content_type == "video/mp4"]
    probed = renderer().probe(movie.path)
    assert (movie.width, movie.height) == (probed.width, probed.height)
    assert min(movie.width, movie.height) == min(720, *map(int, size.split("x")))


@pytest.mark.parametrize(
    ("codec", "limits", "reason"),
    [
        ("libx264", {"max_duration_s": 0.5}, "1.0 s long; at most 0 s"),
        ("mpeg4", {}, "encoded as mpeg4; only H.264 and HEVC"),
        ("libx264", {"max_side": 200}, "320x240; no side may exceed 200"),
        ("libx264", {"max_fps": 10}, "25 frames a second; at most 10"),
    ],
)
def test_limits_are_checked_before_transcoding(
    tmp_path: Path, codec: str, limits: dict[str, float], reason: str
) -> None:
    source = clip(tmp_path / "in.mov", codec)
    with pytest.raises(RejectedMedia, match=reason):
        renderer(**limits).render(source, "video/quicktime", tmp_path)
    assert not (tmp_path / "video.mp4").exists()


def test_files_without_a_playable_video_are_refused(tmp_path: Path) -> None:
    sound = tmp_path / "sound.mov"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine", "-t", "1", "-f", "mov",
         str(sound)],
        check=True,
    )  # fmt: skip
    with pytest.raises(RejectedMedia, match="not a playable MP4 or MOV video"):
        renderer().render(sound, "video/quicktime", tmp_path)
    playlist = tmp_path / "list.mov"  # an HLS playlist that would fetch other files
    playlist.write_text("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n")
    with pytest.raises(RejectedMedia, match="not a playable"):
        renderer().render(playlist, "video/quicktime", tmp_path)


def test_a_transcode_that_overruns_its_time_is_stopped(tmp_path: Path) -> None:
    source = clip(tmp_path / "in.mov", "libx264", seconds=20, size="1280x720")
    with pytest.raises(RejectedMedia, match="took longer than"):
        renderer(timeout_s=0.5).render(source, "video/quicktime", tmp_path)

"""The video pipeline on real ffmpeg: limits are checked before any transcode, and every
refusal has a reason for the person posting."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from media_svc.imaging import ImageLimits, PhotoRenderer, lock_down
from media_svc.models import RejectedMedia
from media_svc.video import VideoLimits, VideoRenderer

lock_down()


def make_clip(path: Path, *codec_args: str, seconds: float = 1.0, size: str = "320x240") -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
         "-t", str(seconds), *codec_args, "-f", "mov", str(path)],
        check=True,
    )  # fmt: skip
    return path


def renderer(**limits: float) -> VideoRenderer:
    return VideoRenderer(VideoLimits(**limits), PhotoRenderer(ImageLimits()))  # type: ignore[arg-type]


def test_a_short_h264_clip_becomes_poster_renditions_and_an_mp4(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mov", "-c:v", "libx264", seconds=1.5)
    result = renderer().render(clip, "video/quicktime", tmp_path)
    assert (result.width, result.height) == (320, 240)
    assert result.duration_ms == pytest.approx(1500, abs=50)  # the container may round up
    kinds = sorted((r.size, r.content_type) for r in result.renditions)
    assert ("FULL", "video/mp4") in kinds
    assert ("THUMBNAIL", "image/webp") in kinds
    assert result.placeholder is not None


@pytest.mark.parametrize(
    ("codec_args", "limits", "reason"),
    [
        (("-c:v", "libx264"), {"max_duration_s": 0.5}, "1.0 s long; at most 0 s"),
        (("-c:v", "mpeg4"), {}, "encoded as mpeg4; only H.264 and HEVC"),
        (("-c:v", "libx264"), {"max_side": 200}, "320x240; no side may exceed 200"),
        (("-c:v", "libx264"), {"max_fps": 10}, "25 frames a second; at most 10"),
    ],
)
def test_limits_are_checked_before_transcoding(
    tmp_path: Path, codec_args: tuple[str, ...], limits: dict[str, float], reason: str
) -> None:
    clip = make_clip(tmp_path / "in.mov", *codec_args)
    with pytest.raises(RejectedMedia, match=reason):
        renderer(**limits).render(clip, "video/quicktime", tmp_path)
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
    clip = make_clip(tmp_path / "in.mov", "-c:v", "libx264", seconds=20, size="1280x720")
    with pytest.raises(RejectedMedia, match="took longer than"):
        renderer(timeout_s=0.5).render(clip, "video/quicktime", tmp_path)

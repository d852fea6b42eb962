"""The video pipeline on Debian's ffmpeg: probe, check, poster frame, 720p H.264 MP4.

ffmpeg parses untrusted bytes, so it only ever reads local files through the MOV/MP4
demuxer, runs under prlimit (CPU seconds, memory, output size) and a wall-clock timeout,
and writes nothing of the original's metadata (iPhone clips carry their location).
Everything here blocks: it runs in worker processes only.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_svc.decoding.contract import RejectedMedia, RenderedFile, RenderResult, VideoLimits
from media_svc.decoding.imaging import PhotoRenderer

CODECS = ("h264", "hevc")
# Demux as MOV/MP4 only and read nothing but the file: no playlists, no network, no concat.
_INPUT = ("-protocol_whitelist", "file", "-f", "mov")
# The shorter side becomes 720 (or stays smaller); the other follows, kept even.
_SCALE_720P = "scale='if(gte(iw,ih),-2,min(720,iw))':'if(gte(iw,ih),min(720,ih),-2)'"
_POSTER_AT_S = 1.0


@dataclass(frozen=True, slots=True)
class ClipInfo:
    codec: str
    width: int  # upright
    height: int
    duration_s: float
    fps: float


class VideoRenderer:
    """Poster renditions (as for a photo) plus a 720p H.264 MP4 with faststart."""

    def __init__(
        self, limits: VideoLimits, photos: PhotoRenderer, *, ffmpeg: str = "ffmpeg"
    ) -> None:
        self._limits = limits
        self._photos = photos
        self._ffmpeg = ffmpeg
        self._ffprobe = ffmpeg.replace("ffmpeg", "ffprobe")

    def render(self, path: Path, content_type: str, out_dir: Path) -> RenderResult:
        clip = self._check(self.probe(path))
        movie = out_dir / "video.mp4"
        # The transcode is most of the time: the poster and its stills are made meanwhile.
        with ThreadPoolExecutor(1) as transcoding:
            converted = transcoding.submit(self._convert, path, movie)
            stills = self._stills(path, clip, out_dir)
            converted.result()
        # Its size follows from the clip's (a probe of the output cost 140 ms of wall time).
        width, height = scaled_to_720p(clip.width, clip.height)
        rendition = RenderedFile("FULL", "video/mp4", "mp4", width, height, movie)
        return RenderResult(
            stills.width,
            stills.height,
            [*stills.renditions, rendition],
            stills.placeholder,
            duration_ms=round(clip.duration_s * 1000),
        )

    def _stills(self, path: Path, clip: ClipInfo, out_dir: Path) -> RenderResult:
        """A poster frame, rendered as a photo is."""
        poster = out_dir / "poster.png"
        self._run(
            [
                "-ss",
                f"{min(_POSTER_AT_S, clip.duration_s / 2):.3f}",
                *_INPUT,
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-map_metadata",
                "-1",
                str(poster),
            ],
            "take a poster frame from",
        )
        return self._photos.render_still(poster, "image/png", out_dir)

    def _convert(self, path: Path, movie: Path) -> None:
        """A 720p H.264 MP4 that starts playing before it has downloaded, without metadata."""
        self._run(
            [
                # Scaling runs between decoding and encoding: sliced across the cores, it no
                # longer holds both back (10 s of 1080p: 2.9 s -> 2.5 s).
                "-filter_threads",
                str(os.cpu_count() or 1),
                *_INPUT,
                "-i",
                str(path),
                "-map",
                "0:v:0",
                "-map",
                "0:a:0?",
                "-map_metadata",
                "-1",
                "-map_metadata:s:v",
                "-1",
                "-map_metadata:s:a",
                "-1",
                "-map_chapters",
                "-1",
                "-vf",
                _SCALE_720P,
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                # veryfast's motion search made cheaper still (diamond, one subpixel pass):
                # a 10 s 1080p clip in 2.6 s instead of 3.4, for files about 13 % larger.
                "-x264-params",
                "me=dia:subme=1",
                "-crf",
                "23",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "128k",
                "-movflags",
                "+faststart",
                "-fflags",
                "+bitexact",
                str(movie),
            ],
            "convert",
        )

    def probe(self, path: Path) -> ClipInfo:
        command = [
            self._ffprobe,
            "-v",
            "error",
            *_INPUT,
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ]
        try:
            return _clip_info(json.loads(self._limited(command, "read")))
        except RejectedMedia as exc:
            raise RejectedMedia(f"the file is not a playable MP4 or MOV video ({exc})") from exc
        except (ValueError, KeyError, TypeError, ZeroDivisionError) as exc:
            raise RejectedMedia("the file is not a playable MP4 or MOV video") from exc

    def _check(self, clip: ClipInfo) -> ClipInfo:
        limits = self._limits
        if clip.codec not in CODECS:
            raise RejectedMedia(
                f"the video is encoded as {clip.codec}; only H.264 and HEVC are accepted"
            )
        if clip.duration_s > limits.max_duration_s:
            raise RejectedMedia(
                f"the video is {clip.duration_s:.1f} s long; at most "
                f"{limits.max_duration_s:.0f} s are allowed"
            )
        if max(clip.width, clip.height) > limits.max_side:
            raise RejectedMedia(
                f"the video is {clip.width}x{clip.height}; no side may exceed "
                f"{limits.max_side} pixels"
            )
        if clip.fps > limits.max_fps:
            raise RejectedMedia(
                f"the video has {clip.fps:.0f} frames a second; at most "
                f"{limits.max_fps:.0f} are allowed"
            )
        return clip

    def _run(self, arguments: list[str], what: str) -> None:
        command = [self._ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y", *arguments]
        self._limited(command, what)

    def _limited(self, command: list[str], what: str) -> str:
        limits = self._limits
        # prlimit, not preexec_fn: this process has libvips threads, and fork+exec is safe.
        limited = [
            "prlimit",
            f"--cpu={limits.cpu_s}",
            f"--as={limits.memory_bytes}",
            f"--fsize={limits.max_output_bytes}",
            "--core=0",
            "--",
            *command,
        ]
        try:
            done = subprocess.run(
                limited, capture_output=True, timeout=limits.timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise RejectedMedia(
                f"the video took longer than {limits.timeout_s:.0f} s to {what}"
            ) from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit status {done.returncode}"
            raise RejectedMedia(f"could not {what} the video: {_short(reason)}")
        return done.stdout.decode("utf-8", "replace")


def scaled_to_720p(width: int, height: int) -> tuple[int, int]:
    """The size _SCALE_720P makes of a clip shown at width x height: the shorter side at most
    720, the other rescaled as ffmpeg does for -2 (to the nearest, ties up, then even)."""
    if width >= height:
        new_height = min(720, height)
        return _rescaled(new_height, width, height * 2) * 2, new_height
    new_width = min(720, width)
    return new_width, _rescaled(new_width, height, width * 2) * 2


def _rescaled(a: int, b: int, c: int) -> int:
    """a * b / c rounded to the nearest, halves away from zero (av_rescale)."""
    return (a * b + c // 2) // c


def _clip_info(probe: dict[str, Any]) -> ClipInfo:
    video = next((s for s in probe["streams"] if s.get("codec_type") == "video"), None)
    if video is None:
        raise KeyError("no video stream")
    width, height = int(video["width"]), int(video["height"])
    if _rotation(video) % 180:
        width, height = height, width
    numerator, _, denominator = str(video.get("avg_frame_rate", "0/1")).partition("/")
    fps = float(numerator) / float(denominator or 1) if float(denominator or 1) else 0.0
    return ClipInfo(
        codec=str(video["codec_name"]),
        width=width,
        height=height,
        duration_s=float(probe["format"]["duration"]),
        fps=fps,
    )


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list", ()):
        if "rotation" in side_data:
            return int(side_data["rotation"])
    return int(stream.get("tags", {}).get("rotate", 0))


def _short(text: str) -> str:
    """ffmpeg's last error line without its file paths."""
    return text.rsplit(": ", 1)[-1][:200] if "/" in text else text[:200]

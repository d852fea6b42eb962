"""Media files built on the spot, for tests and the bench: hostile headers and video clips."""

from __future__ import annotations

import struct
import subprocess
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

# HEVC as a phone records it, tagged so that QuickTime and iOS play it.
HEVC = ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
        "-tag:v", "hvc1")  # fmt: skip


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def unique_photo(path: Path, width: int = 320, height: int = 240) -> Path:
    """A JPEG of noise no other test has: its renditions are shared with no other post."""
    import pyvips

    noise = pyvips.Image.gaussnoise(width, height, mean=128, sigma=40, seed=time.time_ns() % 2**31)
    noise.cast("uchar").bandjoin([noise, noise]).write_to_file(str(path), Q=90)
    return path


def make_clip(
    path: Path,
    *,
    size: str,
    seconds: float,
    codec: Sequence[str] = HEVC,
    rate: int = 30,
    audio: bool = True,
) -> Path:
    """A MOV of ffmpeg's test pattern (and a tone), encoded with `codec`."""
    sources = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        sources += ["-f", "lavfi", "-i", "sine=frequency=440"]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *sources, "-t", str(seconds), *codec,
         *(["-c:a", "aac"] if audio else []), "-f", "mov", str(path)],
        check=True,
    )  # fmt: skip
    return path

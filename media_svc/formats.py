"""Recognising an upload by its first bytes, whatever it claims to be."""

from __future__ import annotations

_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def sniff(head: bytes) -> str | None:
    """The photo content type the bytes start like, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


NAMES = {
    "image/jpeg": "a JPEG",
    "image/png": "a PNG",
    "image/webp": "a WebP image",
    "image/heic": "a HEIC photo",
}

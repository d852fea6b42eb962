"""Recognising an upload by its first bytes, whatever it claims to be."""

from __future__ import annotations

_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")
HEAD_BYTES = 16  # enough for every signature below


def sniff(head: bytes) -> str | None:
    """The content type the bytes start like, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _AVIF_BRANDS:
            return "image/avif"
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.lstrip().startswith((b"<svg", b"<?xml", b"<!DOCTYPE svg")):
        return "image/svg+xml"
    return None


def matches(actual: str | None, declared: str) -> bool:
    """MP4 and MOV are one container family: either declaration accepts either."""
    if actual is not None and actual.startswith("video/") and declared.startswith("video/"):
        return True
    return actual == declared


NAMES = {
    "image/jpeg": "a JPEG",
    "image/png": "a PNG",
    "image/webp": "a WebP image",
    "image/heic": "a HEIC photo",
    "image/avif": "an AVIF image",
    "image/gif": "a GIF",
    "image/svg+xml": "an SVG drawing",
    "application/pdf": "a PDF document",
    "video/mp4": "an MP4 video",
    "video/quicktime": "a MOV video",
}

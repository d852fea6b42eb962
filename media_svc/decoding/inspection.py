"""Finding a second file hidden in an image (a polyglot) before any decoder sees it.

Renditions are re-encoded, so hidden content never reaches viewers; a file built to be two
things at once is still refused, because nobody posts one by accident.
"""

from __future__ import annotations

import re

# Markup a browser would run if it sniffed the file as HTML, anywhere in the bytes. Seven or
# more exact bytes: chance matches in compressed pixel data are vanishingly rare.
_MARKUP = re.compile(rb"<(?:script|html|svg|iframe|\?php|!doctype\s+html)[\s>/]", re.IGNORECASE)
_PDF_HEADER_WINDOW = 1024  # PDF readers look this far for "%PDF-"
_ZIP_END = b"PK\x05\x06"  # end of central directory, within the last 64 KiB + 22 bytes
_ZIP_END_WINDOW = 65_535 + 22


def find_embedded_content(data: bytes) -> str | None:
    """Why the bytes are more than an image, or None when they are just one."""
    markup = _MARKUP.search(data)
    if markup:
        tag = markup.group(0)[:-1].decode("ascii", "replace").lower()
        return f"the file hides web page markup ({tag}...) inside the image; upload a plain photo"
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "the file is also a PDF document; upload a plain photo"
    if _ends_like_zip(data):
        return "the file has a ZIP archive appended to it; upload a plain photo"
    return None


def _ends_like_zip(data: bytes) -> bool:
    """A ZIP reader finds its directory at the end; only a consistent one counts."""
    tail_start = max(0, len(data) - _ZIP_END_WINDOW)
    at = data.rfind(_ZIP_END, tail_start)
    while at >= 0:
        comment_length = int.from_bytes(data[at + 20 : at + 22], "little")
        if at + 22 + comment_length == len(data):
            return True
        at = data.rfind(_ZIP_END, tail_start, at)
    return False

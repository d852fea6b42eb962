"""Byte ranges on the media endpoint (RFC 9110: single ranges; others get the whole file)."""

from __future__ import annotations

import pytest

from media_svc.http import byte_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-0", (0, 0)),
        ("bytes=1000-", None),
        ("bytes=-0", None),
        ("bytes=50-10", None),
        ("bytes=0-1,5-9", (0, 999)),
        ("items=0-9", (0, 999)),
    ],
)
def test_byte_range(header: str, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected

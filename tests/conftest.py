from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "media-samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    """The real photos in ../shared/media-samples (EXIF orientations, GPS, HEIC, broken)."""
    if not SAMPLES.is_dir():
        pytest.fail(f"media samples not found at {SAMPLES}; the repo expects ../shared beside it")
    return SAMPLES

"""Private files and folders for the embedded default: secrets, originals (with their EXIF and
GPS) and the stores are readable by the service's own user only, never by other local users."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Creates the folder (and the parents it lacks, also private) if needed and makes it
    private, also when it was made earlier with a wider mode."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):  # mkdir(parents=True) would give parents the umask's mode
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        folder.chmod(PRIVATE_DIR_MODE)
    path.chmod(PRIVATE_DIR_MODE)
    return path


def private_opener(path: str, flags: int) -> int:
    """For open(..., opener=private_opener): a file it creates is 0600 whatever the umask."""
    return os.open(path, flags, PRIVATE_FILE_MODE)

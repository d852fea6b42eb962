"""generated/ is exactly what `make proto` makes from protos/: never stale, never hand-edited."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    subprocess.run(
        ["make", "-s", "-C", str(ROOT), "proto", f"GENERATED={tmp_path}"],
        check=True,
        capture_output=True,
    )
    fresh = tmp_path / "photoshare"
    committed = ROOT / "generated" / "photoshare"
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(
        p.relative_to(committed)
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert committed_files == fresh_files, "run `make proto`: files were added or removed"
    stale = [
        str(f) for f in fresh_files if not filecmp.cmp(fresh / f, committed / f, shallow=False)
    ]
    assert stale == [], f"run `make proto`: stale generated files {stale}"

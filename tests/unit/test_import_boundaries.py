"""The boundaries `make lint` checks (import-linter, pyproject.toml) catch what they forbid."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "graph_svc", "post_svc", "media_svc", "feed_svc", "gateway", "deploy")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the code and its import rules, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_code_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("graph_svc/graph.py", "from post_svc import posts", "Services never import each other"),
        ("common/ids.py", "import feed_svc.feed", "common imports no service"),
        ("feed_svc/fanout.py", "import grpc", "Domain modules import neither"),
        ("post_svc/posts.py", "from common.cassandra import CassandraStore", "Domain modules"),
        ("media_svc/pipeline.py", "from media_svc.decoding import imaging", "never loads"),
        ("media_svc/http.py", "import pyvips", "never loads a"),
        ("feed_svc/feed.py", "from generated.photoshare.post.v1 import post_service_pb2", "folder"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tree: Path, module: str, line: str, contract: str
) -> None:
    with (tree / module).open("a") as source:
        source.write(f"\n{line}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), result.stdout

"""A whole mesh for a benchmark run on its own (`python -m tests.bench.<name>`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from deploy.local import Mesh
from tests.e2e.conftest import cleanup_servers, mesh_env


@contextlib.contextmanager
def running_mesh(root: Path, backend: str, **settings: str) -> Iterator[Mesh]:
    """A healthy mesh with its data in root/data and its logs in root/logs, `settings`
    (PHOTOSHARE_* names) over the test defaults; stopped after, and on production its
    keyspace and topics dropped."""
    env = mesh_env(root / "data", backend)
    env.update(settings)
    mesh = Mesh(env, log_dir=root / "logs")
    mesh.start()
    try:
        mesh.wait_healthy()
        yield mesh
    finally:
        mesh.stop()
        cleanup_servers(env)

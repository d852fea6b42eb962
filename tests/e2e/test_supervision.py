"""`make run` keeps the mesh up: a crashed service is started again, the others keep serving."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import cleanup_servers, eventually, mesh_env

pytestmark = pytest.mark.e2e


def children(parent: int) -> dict[str, int]:
    """The mesh's service processes by module name."""
    found = {}
    pids = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    for pid in pids.split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue  # it exited (and was reaped) since pgrep saw it
        if b"-m" in command:
            found[command[command.index(b"-m") + 1].decode()] = int(pid)
    return found


def healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def test_a_killed_service_is_restarted_and_the_rest_keep_serving(tmp_path: Path) -> None:
    env = mesh_env(tmp_path / "data")
    base_url = f"http://127.0.0.1:{env['PHOTOSHARE_HTTP_PORT']}"
    errors, output = tmp_path / "stderr.log", tmp_path / "stdout.log"
    with open(errors, "wb") as stderr, open(output, "wb") as stdout:
        run = subprocess.Popen(
            [sys.executable, "-m", "deploy.local"], env=env, stdout=stdout, stderr=stderr
        )
    try:
        # Up and past its start-up checks (a service that cannot even start stops it all).
        eventually(lambda: "Photoshare is up" in output.read_text(), timeout_s=60)
        assert healthy(base_url)
        before = children(run.pid)
        assert set(before) == {"graph_svc", "post_svc", "media_svc", "feed_svc", "gateway"}
        subprocess.run(["kill", "-KILL", str(before["feed_svc"])], check=True)

        def restarted() -> bool:
            now = children(run.pid)
            return now.get("feed_svc", before["feed_svc"]) != before["feed_svc"] and healthy(
                base_url
            )

        eventually(restarted, timeout_s=30)
        after = children(run.pid)
        assert {k: v for k, v in after.items() if k != "feed_svc"} == {
            k: v for k, v in before.items() if k != "feed_svc"
        }
        said = errors.read_text()
        assert "feed_svc exited with code -9; restarting" in said
        assert "feed_svc restarted" in said
        assert run.poll() is None
    finally:
        run.send_signal(signal.SIGTERM)
        run.wait(30)
        cleanup_servers(env)

"""Clients in other languages, as a developer makes them from a clone: `buf generate`, then a
Go program that calls the running mesh over gRPC and a TypeScript program that reads the
gateway's JSON with the generated types."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from common.mesh_auth import MeshCredentials
from common.signing import load_secret
from deploy.local import Mesh
from tests.e2e.conftest import Api, eventually

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
Names = Callable[[str], str]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the clone's client side with what `buf generate` makes beside it."""
    root = tmp_path_factory.mktemp("clients")
    subprocess.run(
        [ROOT / "node_modules" / ".bin" / "buf", "generate", "-o", root],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    for kept in ("gen/go/go.mod", "gen/go/go.sum"):
        shutil.copy(ROOT / kept, root / kept)
    shutil.copytree(ROOT / "examples", root / "examples")
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    return root


def test_a_go_client_reads_a_profile_and_a_feed_from_the_mesh(
    mesh: Mesh, api: Api, samples: Path, username: Names, generated: Path
) -> None:
    program = generated / "feed-example"
    subprocess.run(
        [shutil.which("go") or "/usr/local/go/bin/go", "build", "-o", program, "."],
        cwd=generated / "examples" / "go",
        check=True,
        timeout=600,
    )
    ada_id, ada = api.sign_up(username("goada"))
    bob_name = username("gobob")
    bob_id, bob = api.sign_up(bob_name)
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    post_id = api.post_photo(ada, samples / "camera" / "Canon_40D.jpg")
    eventually(lambda: post_id in api.feed_ids(bob))

    env = mesh.env
    secret = load_secret(env.get("PHOTOSHARE_SECRET", ""), Path(env["PHOTOSHARE_DATA_DIR"]))

    def run_example(credential: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [program],
            env={
                **os.environ,
                # One replica's address: the example dials one target.
                "PHOTOSHARE_GRAPH_ADDR": env["PHOTOSHARE_GRAPH_ADDR"].split(",")[0],
                "PHOTOSHARE_FEED_ADDR": env["PHOTOSHARE_FEED_ADDR"].split(",")[0],
                "PHOTOSHARE_USER_ID": bob_id,
                "PHOTOSHARE_CREDENTIAL": credential,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )

    run = run_example(MeshCredentials(secret).sign(bob_id))
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["username"] == bob_name
    assert answer["postIds"][0] == post_id
    # With a forged credential the services refuse it, and it says so.
    refused = run_example("forged")
    assert refused.returncode == 1
    assert "Unauthenticated" in refused.stderr


def test_a_typescript_client_reads_the_gateways_json(
    api: Api, samples: Path, username: Names, generated: Path
) -> None:
    _, ada = api.sign_up(username("tsada"))
    post_id = api.post_photo(ada, samples / "camera" / "Canon_40D.jpg")
    feed = api.call("GET", "/v1/feed", token=ada)  # her own posts are in her feed
    (generated / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "target": "es2022",
                    "module": "commonjs",
                    "moduleResolution": "node10",
                    "outDir": "out",
                    "skipLibCheck": True,
                },
                "include": ["examples/ts/*.ts", "gen/ts/**/*.ts"],
            }
        )
    )
    tsc = ROOT / "node_modules" / ".bin" / "tsc"
    subprocess.run([tsc, "-p", generated], check=True, timeout=300)
    run = subprocess.run(
        ["node", generated / "out" / "examples" / "ts" / "check.js", feed.body.decode()],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answer = json.loads(run.stdout)
    assert answer["method"] == "GetHomeFeed"
    assert answer["request"] == {"limit": 10}
    assert answer["requestBytes"] > 0
    assert answer["published"] == [post_id]

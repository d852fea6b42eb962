"""How soon a signed-out token stops working on a gateway that had it cached.

    python -m tests.bench.revocation [--backend embedded|production] [--rounds 50]

Runs a mesh (production: on the shared servers, `make services`), and per round signs in,
makes the gateway cache the new token with one call, signs that session out from another,
and polls the cached token every millisecond until it is refused: the time from the sign-out's
answer to the first 401. Prints p50, p99 and max. The target is one second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.mesh import running_mesh
from tests.e2e.conftest import Api

PASSWORD = "correct horse battery"


def one_round(api: Api, username: str, keeper: str) -> float:
    token = api.ok("POST", "/v1/sessions", {"username": username, "password": PASSWORD})["token"]
    assert api.call("GET", "/v1/feed", token=token).status == 200  # cached from here on
    sessions = api.ok("GET", "/v1/sessions", token=keeper)["sessions"]
    [other] = [s for s in sessions if not s.get("current")]
    api.ok("DELETE", f"/v1/sessions/{other['id']}", token=keeper)
    answered = time.perf_counter()
    while api.call("GET", "/v1/feed", token=token).status == 200:
        if time.perf_counter() - answered > 70:
            raise AssertionError("the token still works after the cache's TTL")
        time.sleep(0.001)
    return (time.perf_counter() - answered) * 1000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.revocation", description=__doc__)
    parser.add_argument("--backend", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_mesh(Path(scratch), args.backend, PHOTOSHARE_RATE_LIMIT_SCALE="0") as mesh,
    ):
        api = Api(mesh.base_url)
        keeper = api.ok("POST", "/v1/users", {"username": "ada", "password": PASSWORD})
        took = sorted(one_round(api, "ada", keeper["token"]) for _ in range(args.rounds))
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    print(
        f"{args.backend}: revoked token refused after p50 {statistics.median(took):.1f} ms, "
        f"p99 {p99:.1f} ms, max {took[-1]:.1f} ms ({len(took)} sign-outs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What an idle mesh costs: CPU per process while nobody calls it.

    python -m tests.bench.idle [--backend embedded|production] [--seconds 30]

Starts a mesh, lets it settle, then reads every process's CPU time (user and system, from
/proc, the services and their children such as media_svc's decoding workers) over a quiet
window and prints each one's share of a core. The target is under 1 % of a core in all.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from deploy.local import Mesh
from tests.bench.cpu import process_cpu_seconds
from tests.bench.mesh import running_mesh

SETTLE_S = 10.0  # startup work (schemas, topic metadata, first sweeps) is not idling


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def measure(mesh: Mesh, seconds: float) -> dict[str, float]:
    """Each process's share of one core over `seconds` (children counted with their parent)."""
    processes = {name: [pid, *children_of(pid)] for name, pid in mesh.pids.items()}
    before = {name: sum(map(process_cpu_seconds, pids)) for name, pids in processes.items()}
    started = time.monotonic()
    time.sleep(seconds)  # the quiet window being measured, not a wait for a condition
    elapsed = time.monotonic() - started
    return {
        name: (sum(map(process_cpu_seconds, pids)) - before[name]) / elapsed
        for name, pids in processes.items()
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.idle", description=__doc__)
    parser.add_argument("--backend", choices=("embedded", "production"), default="embedded")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_mesh(Path(scratch), args.backend) as mesh,
    ):
        time.sleep(SETTLE_S)  # let startup work finish before the quiet window
        shares = measure(mesh, args.seconds)
    for name, share in sorted(shares.items()):
        print(f"  {name:<10} {share * 100:6.2f} % of a core")
    print(f"{args.backend}: an idle mesh uses {sum(shares.values()) * 100:.2f} % of a core in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

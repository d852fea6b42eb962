"""Where each process's CPU goes under load: py-spy samples, summed by the code they were in.

The REST bench calls `profiled` around a fixed-rate run: py-spy records every service (its
raw stacks, which flame graph tools read, land in the bench's output folder), and each
process's samples are attributed by their innermost frame ("self" time) to the layer that
frame belongs to: grpc.aio, protobuf, aiohttp, the JSON writer, the asyncio loop, storage
clients, or Photoshare's own code. py-spy sees Python threads only: gRPC core's C threads are
not in the shares, though they are in the CPU that /proc reports.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
SAMPLES_PER_S = 200
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Innermost frame's file -> layer; the first match wins, so specific paths come first.
LAYERS = (
    ("JSON", ("gateway/json_mapping.py", "orjson")),
    ("grpc.aio", ("/grpc/",)),
    ("protobuf", ("/google/protobuf/", "_pb2")),
    ("aiohttp", ("/aiohttp/", "/multidict/", "/yarl/")),
    ("storage clients", ("/redis/", "sqlite", "/cassandra/")),
    ("asyncio loop", ("/asyncio/",)),
)


def layer_of(frame: str) -> str:
    """The layer a py-spy frame ("function (path:line)") belongs to."""
    location = frame.rsplit("(", 1)[-1]
    for layer, markers in LAYERS:
        if any(marker in location for marker in markers):
            return layer
    if str(PROJECT_ROOT) in location or location.startswith(("gateway/", "common/")):
        return "photoshare code"
    return "other (stdlib, logging, ...)"


def layer_shares(raw: str) -> dict[str, float]:
    """Each layer's share of the samples in py-spy's raw output ("a;b;c count" lines)."""
    samples: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples[layer_of(stack.split(";")[-1])] += int(count)
    total = sum(samples.values()) or 1
    return {layer: round(n / total, 3) for layer, n in samples.most_common()}


def py_spy_record(pid: int, seconds: float, output: Path) -> list[str]:
    sampling = ["--duration", str(int(seconds)), "--rate", str(SAMPLES_PER_S), "--format", "raw"]
    return [str(PY_SPY), "record", "--pid", str(pid), *sampling, "--output", str(output)]


@contextlib.contextmanager
def profiled(pids: dict[str, int], seconds: float, out: Path) -> Iterator[dict[str, object]]:
    """Records every process for `seconds` while the caller's body runs; afterwards the
    yielded dict holds each process's layer shares (and the files are in `out`)."""
    out.mkdir(parents=True, exist_ok=True)
    recorders = {
        name: subprocess.Popen(
            py_spy_record(pid, seconds, out / f"{name}.txt"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    }
    shares: dict[str, object] = {}
    try:
        yield shares
    finally:
        for name, recorder in recorders.items():
            recorder.wait(timeout=seconds + 30)
            raw = out / f"{name}.txt"
            shares[name] = layer_shares(raw.read_text()) if raw.exists() else "no samples"

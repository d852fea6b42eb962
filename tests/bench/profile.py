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
SAMPLES_PER_S = 100

# Innermost frame's file -> layer; the first match wins, so specific paths come first. py-spy
# names a frame's file by its module path ("grpc/aio/_call.py") or in full.
LAYERS = (
    ("JSON", ("gateway/json_mapping.py", "orjson")),
    ("grpc.aio", ("grpc/",)),
    ("protobuf", ("google/protobuf/", "_pb2")),
    ("aiohttp", ("aiohttp/", "multidict/", "yarl/")),
    ("storage clients", ("redis/", "sqlite", "cassandra/")),
    ("asyncio loop", ("asyncio/",)),
    (
        "photoshare code",
        ("common/", "gateway/", "graph_svc/", "post_svc/", "media_svc/", "feed_svc/"),
    ),
)
# A sample whose innermost Python frame is the loop running a callback is in native code the
# loop called: grpc.aio's Cython coroutines (they have no Python frames) or asyncio's C tasks.
NATIVE_UNDER_THE_LOOP = "Handle._run (asyncio/events.py"
# Innermost frames of threads waiting for work, which py-spy may sample as running.
WAITING = (
    "EpollSelector.select (selectors.py",
    "_connection_worker_thread (aiosqlite/core.py",  # its queue's get()
    "Thread.run (threading.py",  # a thread whose target is native code, blocked in it
)


def layer_of(frame: str) -> str:
    """The layer a py-spy frame ("function (path:line)") belongs to."""
    if frame.startswith(NATIVE_UNDER_THE_LOOP):
        return "native under the loop (grpc.aio Cython, asyncio C)"
    location = frame.rsplit("(", 1)[-1]
    for layer, markers in LAYERS:
        if any(location.startswith(m) or f"/{m}" in location for m in markers):
            return layer
    return "other (stdlib, logging, ...)"


def layer_shares(raw: str) -> dict[str, float]:
    """Each layer's share of the samples in py-spy's raw output ("a;b;c count" lines)."""
    samples: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        innermost = stack.split(";")[-1]
        if stack and count.isdigit() and not innermost.startswith(WAITING):
            samples[layer_of(innermost)] += int(count)
    total = sum(samples.values()) or 1
    return {layer: round(n / total, 3) for layer, n in samples.most_common()}


def py_spy_record(pid: int, seconds: float, output: Path) -> list[str]:
    # Non-blocking: sampling does not pause the process, so it barely changes what it measures.
    sampling = ["--duration", str(int(seconds)), "--rate", str(SAMPLES_PER_S), "--nonblocking"]
    sampling += ["--format", "raw"]
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

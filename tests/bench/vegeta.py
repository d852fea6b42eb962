"""Open-loop HTTP load from vegeta (a Go program, so the load generator costs little of the
two cores it shares with the mesh), and the bare aiohttp server the feed is compared with.

    vegeta = ensure_vegeta()
    result = await attack(vegeta, targets_file, rate=1000, seconds=8)
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.local import free_port
from tests.bench.cpu import cpu_ms_per_request, cpu_seconds

VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0"
TOOLS_DIR = Path(__file__).resolve().parents[2] / ".tools" / "bin"
REQUEST_TIMEOUT_S = 2


def ensure_vegeta() -> Path:
    """The vegeta binary, built with `go install` into the project's tool folder on first use."""
    binary = TOOLS_DIR / "vegeta"
    if binary.exists():
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "install", VEGETA_MODULE], env={**os.environ, "GOBIN": str(TOOLS_DIR)}, check=True
    )
    return binary


@dataclass(frozen=True)
class Attack:
    """One constant-rate run: vegeta's own report of it."""

    rate: float
    requests: int
    success: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    def summary(self) -> dict[str, float]:
        return {
            "offered_rps": self.rate,
            "requests": self.requests,
            "success": round(self.success, 4),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
        }


def write_targets(path: Path, url: str, tokens: list[str]) -> Path:
    """A vegeta targets file: the same URL once per token, each with its bearer header
    (vegeta takes them round-robin, so every reader reads in turn)."""
    blocks = [f"GET {url}\nAuthorization: Bearer {token}\n" for token in tokens]
    path.write_text("\n".join(blocks))
    return path


async def attack(vegeta: Path, targets: Path, rate: float, seconds: float) -> Attack:
    """Offers `rate` requests/s for `seconds`, whatever the server does (open loop)."""
    command = (
        f"{vegeta} attack -targets={targets} -rate={rate:g}/s -duration={seconds:g}s "
        f"-timeout={REQUEST_TIMEOUT_S}s -max-workers=2000 | {vegeta} report -type=json"
    )
    process = await asyncio.create_subprocess_shell(
        command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"vegeta failed: {err.decode(errors='replace')[-2000:]}")
    report = json.loads(out)
    latencies = report["latencies"]
    return Attack(
        rate=rate,
        requests=int(report["requests"]),
        success=float(report["success"]),
        p50_ms=latencies["50th"] / 1e6,
        p99_ms=latencies["99th"] / 1e6,
        max_ms=latencies["max"] / 1e6,
    )


@contextmanager
def bare_server(body: bytes, workdir: Path) -> Iterator[tuple[str, int]]:
    """A bare aiohttp server answering every GET with `body` as JSON, in a process of its own:
    the ceiling the gateway is measured against. Yields its URL and process id."""
    body_file = workdir / "bare-body.json"
    body_file.write_bytes(body)
    port = free_port()
    with serving_module("tests.bench.bare", str(port), str(body_file)) as pid:
        yield f"http://127.0.0.1:{port}/v1/feed?limit=20", pid


@contextmanager
def serving_module(module: str, *args: str) -> Iterator[int]:
    """`python -m module args` in a process of its own, once it prints that it is ready (its
    first line); yields its process id, and terminates it after."""
    process = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        process.stdout.readline()  # "ready": it is listening
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


# A step passes when its p99 is within this and (nearly) every request succeeded.
P99_TARGET_MS = 50.0
TARGET_RPS = 1000.0  # issue 13's aim for the REST feed on this 2-core machine
MIN_SUCCESS = 0.999


@dataclass
class Sweep:
    """Each step's latencies and CPU, and the highest offered rate that passed."""

    steps: list[dict[str, object]]
    best_rps: float

    def summary(self) -> dict[str, object]:
        return {"steps": self.steps, "max_rps_within_p99": self.best_rps}


async def sweep(
    vegeta: Path, targets: Path, rates: list[float], seconds: float, pids: dict[str, int]
) -> Sweep:
    """Offered rates in turn until a step fails the p99 target (or none is left), with every
    process's CPU per request at each."""
    result = Sweep([], 0.0)
    for rate in rates:
        before = cpu_seconds(pids)
        attacked = await attack(vegeta, targets, rate, seconds)
        step: dict[str, object] = dict(attacked.summary())
        step["cpu_ms_per_request"] = cpu_ms_per_request(
            before, cpu_seconds(pids), round(attacked.requests * attacked.success)
        )
        result.steps.append(step)
        print(f"   {targets.stem} {rate:>6.0f} rps: {step}", flush=True)
        if attacked.p99_ms > P99_TARGET_MS or attacked.success < MIN_SUCCESS:
            break
        result.best_rps = rate
    return result

"""CPU time of the bench's processes, from /proc: what a request or an idle second costs."""

from __future__ import annotations

import os
from pathlib import Path


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of one process so far."""
    # After the command name in parentheses: utime is field 14, stime 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds each named process has used so far."""
    return {name: process_cpu_seconds(pid) for name, pid in pids.items()}


def cpu_ms_per_request(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """Milliseconds of CPU per completed request, by process and in all."""
    per = {name: (after[name] - before[name]) * 1000 / max(requests, 1) for name in after}
    return {**{k: round(v, 3) for k, v in per.items()}, "total": round(sum(per.values()), 3)}

"""Servers started in the background that outlive the command that started them: each has a
pid file in a state folder, its output in `<name>.out` beside it, and a check that says when
it does its job. `deploy.services` (one of each, on 127.0.0.1) and `deploy.cluster` (three of
each, on 127.0.0.2-4) start theirs with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Daemon:
    name: str
    host: str
    port: int  # answers once the server is up
    command: Callable[[], list[str]]  # installs what is missing, returns the command
    ready: Callable[[], None]  # raises until the server does its job
    start_timeout_s: float


class Daemons:
    """Example:
    daemons = Daemons(Path(".services"))
    process = daemons.launch(redis)   # None when it was running already
    daemons.wait_ready(redis, process)
    daemons.stop(redis)
    """

    def __init__(self, state: Path) -> None:
        self._state = state
        # The servers this process started: they outlive the call that started them (and
        # this process, under `make services`); holding their Popen objects keeps Python
        # from reaping them early or warning that they still run.
        self._launched: dict[str, subprocess.Popen[bytes]] = {}

    def running_pid(self, name: str) -> int | None:
        try:
            pid = int(self._pid_file(name).read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        # A killed server lingers as a zombie until its parent reaps it.
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return None
        except FileNotFoundError:
            return None
        return pid

    def is_up(self, daemon: Daemon) -> bool:
        """Whether something answers on its address (it, or another copy of it)."""
        return port_open(daemon.host, daemon.port)

    def launch(self, daemon: Daemon) -> subprocess.Popen[bytes] | None:
        """Starts the server unless it runs; its process, or None when it was running."""
        if self.running_pid(daemon.name) is not None or self.is_up(daemon):
            return None
        self._state.mkdir(parents=True, exist_ok=True)
        command = daemon.command()
        with open(self._state / f"{daemon.name}.out", "ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self._state,
            )
        self._pid_file(daemon.name).write_text(str(process.pid))
        self._launched[daemon.name] = process
        return process

    def wait_ready(self, daemon: Daemon, process: subprocess.Popen[bytes] | None = None) -> float:
        """Waits until the server does its job; returns how long that took."""
        started = time.monotonic()
        deadline = started + daemon.start_timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                log = self._state / f"{daemon.name}.out"
                raise SystemExit(f"{daemon.name} exited with {process.returncode}; see {log}")
            try:
                daemon.ready()
                return time.monotonic() - started
            except Exception as exc:  # not up yet: any failure to answer means wait
                last = exc
                time.sleep(0.5)
        raise SystemExit(f"{daemon.name} not ready after {daemon.start_timeout_s:.0f} s: {last}")

    def kill(self, daemon: Daemon) -> None:
        """kill -9, as a power cut or the OOM killer would."""
        self._end(daemon, signal.SIGKILL, grace_s=10)

    def stop(self, daemon: Daemon) -> bool:
        """SIGTERM, and SIGKILL after a minute; False when it was not running."""
        return self._end(daemon, signal.SIGTERM, grace_s=60)

    def _end(self, daemon: Daemon, sent: signal.Signals, grace_s: float) -> bool:
        pid = self.running_pid(daemon.name)
        if pid is None:
            self._pid_file(daemon.name).unlink(missing_ok=True)
            return False
        os.killpg(pid, sent)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and self.running_pid(daemon.name) is not None:
            time.sleep(0.05)
        if self.running_pid(daemon.name) is not None:
            os.killpg(pid, signal.SIGKILL)
        if (process := self._launched.pop(daemon.name, None)) is not None:
            process.wait()  # started here: reaped here
        self._pid_file(daemon.name).unlink(missing_ok=True)
        return True

    def _pid_file(self, name: str) -> Path:
        return self._state / f"{name}.pid"


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def command_line(
    argv: Sequence[str], names: Sequence[str], actions: Mapping[str, Callable[[list[str]], None]]
) -> int:
    """`python -m <module> ACTION [NAME ...]`: runs the action on the named servers (all of
    them when none is named); the exit status."""
    action = argv[1] if len(argv) > 1 else "status"
    chosen = list(argv[2:]) or list(names)
    if action not in actions or not set(chosen) <= set(names):
        print(
            f"usage: python -m {argv[0]} {'|'.join(actions)} [NAME ...]\nnames: {' '.join(names)}",
            file=sys.stderr,
        )
        return 2
    actions[action](chosen)
    return 0

"""Runs the whole mesh on this machine: four services and the gateway, one process each.

python -m deploy.local        # what `make run` does; Ctrl-C stops everything

A service that crashes is started again with backoff while the others keep serving (the
gateway answers 503 for it meanwhile); one that keeps crashing is reported.

On the production backends each service may run as several processes: PHOTOSHARE_REPLICAS=2
for every service, PHOTOSHARE_REPLICAS_POST_SVC=3 for one. Each replica listens on an address
of its own (the first on the service's configured one), every client balances over all of
them (common/server.py), and gateway and media_svc replicas share their HTTP ports. The
embedded backend runs one process per service: its timelines, caches and event positions
live in one process's memory and one machine's files.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from common.settings import ConfigError, Settings
from common.signing import load_secret

PROCESSES = ("graph_svc", "post_svc", "media_svc", "feed_svc", "gateway")
# The setting each service's clients find it by.
ADDRESS_SETTINGS = {
    "graph_svc": "PHOTOSHARE_GRAPH_ADDR",
    "post_svc": "PHOTOSHARE_POST_ADDR",
    "media_svc": "PHOTOSHARE_MEDIA_ADDR",
    "feed_svc": "PHOTOSHARE_FEED_ADDR",
}
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0  # a process up this long has its backoff reset
CRASH_LOOP = 5  # this many restarts within CRASH_WINDOW_S is reported as a crash loop
CRASH_WINDOW_S = 300.0


@dataclass(frozen=True)
class Process:
    module: str  # python -m <module>
    env: dict[str, str]  # on top of the mesh's


def plan_processes(
    env: Mapping[str, str], settings: Settings
) -> tuple[dict[str, str], dict[str, Process]]:
    """The settings every process shares (the address lists of replicated services), and
    every process to run, by name: `<module>` for a service's first replica, `<module>-<n>` for
    the others, each with the settings that make it that replica."""
    shared: dict[str, str] = {}
    replicas: dict[str, list[dict[str, str]]] = {}
    for module in PROCESSES:
        count = _replica_count(env, module)
        if count > 1 and not settings.production:
            raise ConfigError(
                f"{module}: replicas need PHOTOSHARE_BACKEND=production (the embedded backend "
                "keeps timelines, caches and event positions in one process and one machine)"
            )
        own: list[dict[str, str]] = [{} for _ in range(count)]
        if count > 1 and module in ("gateway", "media_svc"):
            shared["PHOTOSHARE_HTTP_REUSE_PORT"] = "1"  # they share the HTTP port
        setting = ADDRESS_SETTINGS.get(module)
        if count > 1 and setting is not None:
            first = getattr(settings, setting.removeprefix("PHOTOSHARE_").lower())
            host = first.rpartition(":")[0]
            addresses = [first, *(f"{host}:{free_port(host)}" for _ in range(count - 1))]
            shared[setting] = ",".join(addresses)
            for extra, address in zip(own, addresses, strict=True):
                extra["PHOTOSHARE_LISTEN_ADDR"] = address
        for n, extra in enumerate(own[1:], start=2):
            # Kafka's static membership names each consumer: one name per replica.
            extra["PHOTOSHARE_INSTANCE_ID"] = f"{settings.instance_id or socket.gethostname()}-{n}"
        replicas[module] = own
    plan = {
        (module if n == 1 else f"{module}-{n}"): Process(module, extra)
        for module, own in replicas.items()
        for n, extra in enumerate(own, start=1)
    }
    # Every process serves its metrics on a port of its own: from the configured one up, in
    # this order (9100 gateway... with the defaults), or from a free block where it is 0
    # (tests, which run several meshes at once).
    base = settings.metrics_port or free_port_block(len(plan), settings.host)
    for offset, process in enumerate(sorted(plan, key=_metrics_order)):
        plan[process].env["PHOTOSHARE_METRICS_PORT"] = str(base + offset)
    return shared, plan


def _metrics_order(name: str) -> tuple[int, str]:
    """The gateway first, then the services in PROCESSES order, replicas after their first."""
    module = name.partition("-")[0]
    first = ("gateway", *PROCESSES[:-1])
    return first.index(module), name


def _replica_count(env: Mapping[str, str], module: str) -> int:
    name = f"PHOTOSHARE_REPLICAS_{module.upper()}"
    raw = env.get(name) or env.get("PHOTOSHARE_REPLICAS") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} / PHOTOSHARE_REPLICAS={raw!r}: give a count of 1 or more")
    return int(raw)


# Ports the kernel never hands out for outgoing connections (Linux's ephemeral range starts
# at 32768): a block picked here cannot be taken by a client socket before its server binds.
_FIXED_PORTS = range(20_000, 32_000)


def free_port_block(count: int, host: str = "127.0.0.1", attempts: int = 100) -> int:
    """The first of `count` consecutive ports that nothing listens on now, below the kernel's
    ephemeral range (for a mesh whose ports are its base plus offsets)."""
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(_FIXED_PORTS.start, _FIXED_PORTS.stop - count)
        if all(_bindable(host, base + offset) for offset in range(count)):
            return base
    raise OSError(f"no {count} free ports in a row between 20000 and 32000")


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the kernel's pick), for a server about to start."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class Mesh:
    """The mesh's processes, started together and stopped together.

    Example:
        with Mesh(env) as mesh:
            mesh.wait_healthy()
    """

    def __init__(self, env: Mapping[str, str], *, log_dir: Path | None = None) -> None:
        self._env = dict(env)
        self._settings = Settings.from_env(self._env)
        shared, self._plan = plan_processes(self._env, self._settings)
        self._env.update(shared)
        self._log_dir = log_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._started_at: dict[str, float] = {}
        self._backoff_s: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}
        self._restarts: dict[str, list[float]] = {}

    @property
    def env(self) -> dict[str, str]:
        return dict(self._env)

    @property
    def pids(self) -> dict[str, int]:
        """Process id of each running process, by name (`post_svc`, `post_svc-2`, ...)."""
        return {name: proc.pid for name, proc in self._procs.items()}

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Where each process serves its Prometheus metrics, by process name."""
        host = self._settings.host
        return {
            name: f"http://{host}:{process.env['PHOTOSHARE_METRICS_PORT']}/metrics"
            for name, process in self._plan.items()
        }

    @property
    def base_url(self) -> str:
        return f"http://{self._settings.host}:{self._settings.http_port}"

    def start(self) -> None:
        # Made before the services start, so all of them read the same secret.
        load_secret(self._settings.secret, self._settings.data_dir)
        for name in self._plan:
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        process = self._plan[name]
        env = {**self._env, **process.env}
        command = [sys.executable, "-m", process.module]
        profile_dir = self._env.get("PHOTOSHARE_PROFILE_DIR")
        if profile_dir:
            # cProfile writes <dir>/<process>.prof when the process exits on SIGTERM.
            Path(profile_dir).mkdir(parents=True, exist_ok=True)
            command = [
                sys.executable,
                "-m",
                "cProfile",
                "-o",
                str(Path(profile_dir) / f"{name}.prof"),
                "-m",
                process.module,
            ]
        self._started_at[name] = time.monotonic()
        if self._log_dir is None:
            self._procs[name] = subprocess.Popen(command, env=env)
            return
        self._log_dir.mkdir(parents=True, exist_ok=True)
        with open(self._log_dir / f"{name}.log", "ab") as log:  # the child keeps its copy
            self._procs[name] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def supervise(self, report: Callable[[str], None]) -> None:
        """Starts again, with backoff, every process that has exited; call it every second
        or so. `report` gets a line for each crash, restart and crash loop."""
        now = time.monotonic()
        for name, proc in list(self._procs.items()):
            if proc.poll() is None:
                if now - self._started_at[name] >= STABLE_AFTER_S:
                    self._backoff_s.pop(name, None)
                continue
            if name not in self._restart_at:
                delay = self._backoff_s.get(name, FIRST_BACKOFF_S)
                self._backoff_s[name] = min(delay * 2, MAX_BACKOFF_S)
                self._restart_at[name] = now + delay
                report(f"{name} exited with code {proc.returncode}; restarting in {delay:.0f} s")
                recent = [t for t in self._restarts.get(name, []) if now - t < CRASH_WINDOW_S]
                self._restarts[name] = recent
                if len(recent) >= CRASH_LOOP:
                    report(
                        f"{name} keeps crashing ({len(recent)} restarts in "
                        f"{CRASH_WINDOW_S / 60:.0f} min); see its log. The rest keep serving."
                    )
            elif now >= self._restart_at[name]:
                del self._restart_at[name]
                self._restarts[name].append(now)
                self._spawn(name)
                report(f"{name} restarted (pid {self._procs[name].pid})")

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = exc.read().decode(errors="replace")
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"the mesh did not become healthy in {timeout_s:.0f} s: {last}")

    def check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {proc.returncode}{self._log_tail(name)}"
                )

    def _log_tail(self, name: str, lines: int = 15) -> str:
        """The end of a process's log, for the error that says it died (CI shows only that)."""
        if self._log_dir is None:
            return ""  # its output went to the terminal
        try:
            tail = (self._log_dir / f"{name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return ":\n" + "\n".join(tail[-lines:])

    def stop(self, timeout_s: float = 10.0) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in self._procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def kill(self) -> None:
        """Stops every process at once, as a power cut would (for crash tests)."""
        for proc in self._procs.values():
            proc.kill()
            proc.wait()
        self._procs.clear()

    def __enter__(self) -> Mesh:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    env = dict(os.environ)
    mesh = Mesh(env)
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    def report(line: str) -> None:
        print(f"photoshare: {line}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    mesh.start()
    try:
        mesh.wait_healthy()
        settings = Settings.from_env(env)
        print(
            json.dumps(
                {
                    "gateway": mesh.base_url,
                    "media": settings.public_media_base,
                    "data": str(settings.data_dir.resolve()),
                    "metrics": mesh.metrics_urls,
                }
            ),
            flush=True,
        )
        print(
            f"Photoshare is up: try  curl -s {mesh.base_url}/healthz   (Ctrl-C stops it)",
            flush=True,
        )
        while not stopping:
            mesh.supervise(report)
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as exc:
        print(f"photoshare: {exc}", file=sys.stderr)
        return 1
    finally:
        mesh.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

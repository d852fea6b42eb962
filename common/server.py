"""Bootstrap shared by every service: health, reflection, error mapping, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.sdk.trace import TracerProvider

from common import tracing
from common.call_slots import call_slot_interceptors
from common.grpc_metrics import ServerMetricsInterceptor, client_interceptors
from common.mesh_auth import MeshCredentials, VerifyingInterceptor, signing_interceptors
from common.metrics import Metrics, MetricsListener
from common.rpc_errors import ErrorMappingInterceptor

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
SERVER_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
)


class Service(Protocol):
    """What a service's server.py hands to `serve`."""

    @property
    def service_names(self) -> Sequence[str]: ...

    @property
    def credentials(self) -> MeshCredentials:
        """What every caller must prove (the health service apart)."""
        ...

    @property
    def reflection(self) -> bool: ...

    @property
    def metrics(self) -> Metrics:
        """Where its server's calls are counted."""
        ...

    @property
    def tracing(self) -> TracerProvider | None:
        """Where its server's spans go (None: tracing is off)."""
        ...

    def register(self, server: grpc.aio.Server) -> None:
        """Adds the servicers to the server."""
        ...

    async def start(self) -> None:
        """Opens stores and starts background work; the service is SERVING after it."""
        ...

    async def stop(self) -> None: ...


async def serve(
    service: Service,
    address: str,
    *,
    grace_s: float = 5.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Runs `service` on `address` until SIGTERM/SIGINT (or `stop` is set)."""
    stop = stop or _stop_on_signals()
    server = grpc.aio.server(
        interceptors=server_interceptors(service.credentials, service.metrics, service.tracing),
        options=SERVER_OPTIONS,
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    service.register(server)
    names = (*service.service_names, "")
    for name in names:
        # Not ready until the stores are open; the overall entry "" would start SERVING.
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    if service.reflection:
        reflection.enable_server_reflection(
            (*service.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    try:
        await service.start()
        for name in names:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s serving on %s", ",".join(service.service_names), address)
        await stop.wait()
        log.info("shutting down %s", ",".join(service.service_names))
    finally:
        await health_servicer.enter_graceful_shutdown()
        await server.stop(grace_s)
        await service.stop()


def server_interceptors(
    credentials: MeshCredentials, metrics: Metrics, tracer_provider: TracerProvider | None
) -> list[grpc.aio.ServerInterceptor]:
    """What every call to a service goes through, outermost first: the caller's trace, the
    metrics (they count what the caller gets, refusals and mapped errors too), the credential
    check, and domain errors mapped to statuses."""
    return [
        *tracing.server_interceptors(tracer_provider),
        ServerMetricsInterceptor(metrics),
        VerifyingInterceptor(credentials),
        ErrorMappingInterceptor(),
    ]


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def insecure_channel(
    address: str,
    credentials: MeshCredentials,
    metrics: Metrics | None = None,
    tracer_provider: TracerProvider | None = None,
) -> grpc.aio.Channel:
    """A channel to another service of the mesh: every call carries the mesh's credential,
    waits for a connection within its deadline, and UNAVAILABLE is retried.

    `address` is one `host:port`, several separated by commas (a service's replicas), or a
    gRPC target such as `dns:///graph.photoshare:50051` whose name resolves to the replicas.
    Calls go round-robin to the replicas whose health service answers SERVING: one that is
    starting, stopping or gone is skipped. With `metrics`, its calls are counted there; with
    `tracer_provider`, they carry the caller's trace."""
    counted = client_interceptors(metrics) if metrics is not None else []
    traced = tracing.client_interceptors(tracer_provider)
    return grpc.aio.insecure_channel(
        channel_target(address),
        interceptors=[
            *call_slot_interceptors(),
            *traced,
            *counted,
            *signing_interceptors(credentials),
        ],
        options=(
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.enable_retries", 1),
            ("grpc.service_config", _RETRY_CONFIG),
        ),
    )


def channel_target(address: str) -> str:
    """The gRPC target for a service's address setting (see `insecure_channel`)."""
    if "," not in address:
        return address
    replicas = [a.strip() for a in address.split(",") if a.strip()]
    hosts = [replica.rpartition(":")[0] for replica in replicas]
    if not all(_is_ipv4(host) for host in hosts):
        raise ValueError(
            f"{address!r}: a list of replicas takes IPv4 addresses (host names resolve through "
            "one dns:/// target instead)"
        )
    return "ipv4:" + ",".join(replicas)


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


# round_robin over the replicas that the health service ("" is the whole server) reports
# SERVING. waitForReady: a call made while no replica is ready, e.g. while a service starts
# or restarts, waits for one within its deadline instead of failing at once.
_RETRY_CONFIG = """{"loadBalancingConfig": [{"round_robin": {}}],
  "healthCheckConfig": {"serviceName": ""},
  "methodConfig": [{"name": [{}], "waitForReady": true, "retryPolicy": {
  "maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"""


class Resource(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...


Registration = Callable[[grpc.aio.Server], None]
Worker = Callable[[], Awaitable[None]]


@dataclass
class ServiceApp:
    """A service assembled by its server.py: servicers, what to open, what to keep running.

    Resources open in order (after the metrics listener) before the service reports SERVING
    and close in reverse; workers (event consumers, HTTP listeners) run as tasks in between.
    """

    service_names: Sequence[str]
    registrations: Sequence[Registration]
    credentials: MeshCredentials  # what a caller must prove (common/mesh_auth.py)
    metrics: Metrics = field(default_factory=Metrics)
    tracing: TracerProvider | None = None
    # Where its metrics are served (host, port); a port of 0: nowhere.
    metrics_at: tuple[str, int] = ("127.0.0.1", 0)
    resources: Sequence[Resource] = ()
    reflection: bool = False
    workers: Sequence[Worker] = ()
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _listener: MetricsListener | None = None

    def register(self, server: grpc.aio.Server) -> None:
        for registration in self.registrations:
            registration(server)

    async def start(self) -> None:
        # Metrics first: a service slow to open its stores is one an operator looks into.
        self._listener = MetricsListener(self.metrics, *self.metrics_at)
        await self._listener.open()
        for resource in self.resources:
            await resource.open()
        self._tasks = [asyncio.create_task(_supervised(worker)) for worker in self.workers]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for resource in reversed(self.resources):
            await resource.close()
        if self._listener is not None:
            await self._listener.close()


async def _supervised(worker: Worker) -> None:
    """Keeps a background worker alive: a crash is logged and the worker restarted."""
    while True:
        try:
            await worker()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background worker %s crashed; restarting", worker)
            await asyncio.sleep(1.0)

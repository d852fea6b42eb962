"""Settings of the whole mesh, read once from the environment (prefix PHOTOSHARE_)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common.worker_ids.lease import MIN_LEASE_S

_ORIGIN = re.compile(r"https?://[^/\s:]+(:\d{1,5})?")


class ConfigError(ValueError):
    """One or more settings in the environment are malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    http_port: int = 8080
    graph_addr: str = "127.0.0.1:50051"
    post_addr: str = "127.0.0.1:50052"
    media_addr: str = "127.0.0.1:50053"
    feed_addr: str = "127.0.0.1:50054"
    # Where this process's gRPC server listens when its service's address above lists several
    # replicas (deploy.local sets it for each); empty: the service's own address.
    listen_addr: str = ""
    # Replicas of the gateway share its HTTP port (SO_REUSEPORT); off for one process, so that
    # a second mesh started by mistake fails to bind instead of sharing the port.
    http_reuse_port: bool = False
    media_http_port: int = 8081
    # Base of upload and media URLs handed to clients (a CDN in production).
    media_public_url: str = ""
    # Where browsers reach the gateway (its web app's origin); empty: http://host:http_port.
    api_public_url: str = ""
    # Followers from which an author's posts are pulled at read time instead of pushed: the
    # fan-out worker starts at celebrity_threshold and moves it between the bounds to keep
    # its timeline writes per second within fanout_write_budget (feed_svc/threshold.py).
    celebrity_threshold: int = 10_000
    celebrity_threshold_min: int = 1_000
    celebrity_threshold_max: int = 100_000
    fanout_write_budget: int = 100_000
    timeline_max_len: int = 800
    timeline_cache_users: int = 100_000
    follow_backfill: int = 200
    upload_url_ttl_s: int = 3600
    max_upload_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    max_image_side: int = 16_384
    max_video_bytes: int = 300 * 1024 * 1024
    max_video_seconds: float = 60.0
    # Worker processes that decode uploads (each one job at a time), their memory cap and
    # how long a job may take before its worker is killed.
    media_workers: int = 2
    media_worker_memory_mb: int = 3072
    photo_timeout_s: float = 30.0
    video_timeout_s: float = 300.0
    # How often media_svc fails uploads whose URL expired unfinished and takes over work no
    # process holds a claim on (a crashed replica's, after its claim ran out).
    media_sweep_s: float = 60.0
    rpc_timeout_s: float = 5.0
    # How often a quiet live stream (Server-Sent Events) sends a comment: proxies close
    # connections idle for a minute or so, and a client that left is noticed at a write.
    stream_heartbeat_s: float = 15.0
    # How long an erased account's username stays taken (0: released as soon as it is erased).
    erasure_grace_s: int = 30 * 86_400
    # Per user: upload slots waiting for their bytes, and the bytes they declare.
    max_open_uploads: int = 20
    max_open_upload_bytes: int = 1024 * 1024 * 1024
    # Connections one client address may hold open on each HTTP listener.
    max_connections_per_address: int = 256
    # Multiplies every rate limit (gateway/limits.py) and the quotas above; 0 turns them
    # off, for load tests.
    rate_limit_scale: float = 1.0
    # Where this process serves its Prometheus metrics (GET /metrics); 0: nowhere. deploy.local
    # gives each process of the mesh its own port from this one up (from 0: a free block).
    metrics_port: int = 9100
    # An OTLP/HTTP endpoint (http://collector:4318) every process sends its traces to; empty:
    # tracing is off.
    otlp_endpoint: str = ""
    # The share of requests traced (0..1), decided where a trace starts and followed by every
    # service it reaches. Recording and exporting every span costs far more than the metrics
    # do (docs/capacity.md); busy deployments trace a small share.
    trace_sample_ratio: float = 1.0
    # Log lines as JSON objects (with trace and span ids), one per line; 0: plain text.
    log_json: bool = False
    # Where the gateway finds swagger-ui-dist's files for /docs; empty: the checkout's
    # node_modules (make setup installs them there).
    docs_assets_dir: str = ""
    # Where the gateway finds the built web app (make web); empty: the checkout's web/dist.
    web_app_dir: str = ""
    # Other web origins whose pages may call the gateway and the media URLs from a browser
    # ("https://app.example.com,..." or "*"); none by default (the web app the gateway serves
    # is always allowed: `allowed_origins`).
    cors_origins: str = ""
    # gRPC server reflection (for grpcurl); off: it lists every service to anyone.
    grpc_reflection: bool = False
    event_poll_interval_s: float = 0.02
    log_level: str = "INFO"
    secret: str = ""
    # "embedded" (SQLite, files, in-process caches) or "production" (Cassandra, Redis, Kafka).
    backend: str = "embedded"
    cassandra_hosts: str = "127.0.0.1"
    cassandra_port: int = 9042
    cassandra_keyspace: str = "photoshare"
    cassandra_replication: str = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    cassandra_local_dc: str = "datacenter1"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis with Sentinels: their addresses ("host:port,..."), and the name they monitor the
    # primary under; clients then connect to whichever server is primary (redis_url gives the
    # database and password only).
    redis_sentinels: str = ""
    redis_sentinel_primary: str = "photoshare"
    redis_prefix: str = "ps:"
    timeline_ttl_s: int = 7 * 86_400
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = "photoshare."
    kafka_partitions: int = 6
    # Copies of each new topic's partitions (a cluster of 3 brokers: 3, with the brokers'
    # min.insync.replicas=2 and the producer's acks=all, a write survives a lost broker).
    kafka_replication: int = 1
    # The S3-compatible object store media lives in (production). The defaults name the
    # SeaweedFS that `make services` starts, whose key pair is for development only.
    s3_endpoint: str = "http://127.0.0.1:8333"
    s3_bucket: str = "photoshare"
    s3_access_key: str = "photoshare"
    s3_secret_key: str = "photoshare-development-secret"
    s3_region: str = "us-east-1"
    # Names this process to Kafka (static group membership); unique per process of a service.
    instance_id: str = ""
    # How long a process's worker id (for minting ids) outlives it after a crash (production;
    # renewed every sixth of it).
    worker_lease_s: int = 30

    def listen_address(self, service_addr: str) -> str:
        """Where a service whose clients use `service_addr` listens in this process."""
        if self.listen_addr:
            return self.listen_addr
        if "," in service_addr:
            raise ConfigError(
                f"{service_addr!r} lists replicas: set PHOTOSHARE_LISTEN_ADDR to the one this "
                "process is"
            )
        return service_addr

    @property
    def public_media_base(self) -> str:
        return (self.media_public_url or f"http://{self.host}:{self.media_http_port}").rstrip("/")

    @property
    def public_api_base(self) -> str:
        """Where browsers reach the gateway, and the web app it serves."""
        return (self.api_public_url or f"http://{self.host}:{self.http_port}").rstrip("/")

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The origins whose pages may call: the configured ones and the gateway's own (the
        web app it serves uploads to and shows images from the media origin)."""
        own = {origin_of(self.public_api_base)}
        if not self.api_public_url and self.host == "127.0.0.1":  # opened as localhost
            own.add(f"http://localhost:{self.http_port}")
        return frozenset(self._configured_origins | own)

    @property
    def _configured_origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Reads PHOTOSHARE_<FIELD> for every field; lists every bad value at once."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            raw = env.get(f"PHOTOSHARE_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            parse = _PARSERS.get(type(f.default), str)
            try:
                values[f.name] = parse(raw)
            except ValueError:
                problems.append(
                    f"PHOTOSHARE_{f.name.upper()}={raw!r} is not a valid {parse.__name__}"
                )
        if problems:
            raise ConfigError("; ".join(problems))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        positive = (
            "celebrity_threshold",
            "celebrity_threshold_min",
            "fanout_write_budget",
            "timeline_max_len",
            "timeline_cache_users",
            "upload_url_ttl_s",
            "max_upload_bytes",
            "max_image_pixels",
            "media_workers",
            "media_sweep_s",
            "stream_heartbeat_s",
            "kafka_replication",
        )
        if self.worker_lease_s < MIN_LEASE_S:
            raise ConfigError(f"PHOTOSHARE_WORKER_LEASE_S must be at least {MIN_LEASE_S} (seconds)")
        bad = [name for name in positive if getattr(self, name) <= 0]
        if bad:
            raise ConfigError(
                "must be positive: " + ", ".join(f"PHOTOSHARE_{b.upper()}" for b in bad)
            )
        if (
            not self.celebrity_threshold_min
            <= self.celebrity_threshold
            <= (self.celebrity_threshold_max)
        ):
            raise ConfigError(
                "PHOTOSHARE_CELEBRITY_THRESHOLD must lie within PHOTOSHARE_CELEBRITY_THRESHOLD_MIN"
                " and PHOTOSHARE_CELEBRITY_THRESHOLD_MAX"
            )
        not_origins = sorted(
            o for o in self._configured_origins if o != "*" and not _ORIGIN.fullmatch(o)
        )
        if not_origins:
            raise ConfigError(
                "PHOTOSHARE_CORS_ORIGINS lists what is not an origin (scheme://host[:port], "
                "no path): " + ", ".join(not_origins)
            )
        if not 0.0 <= self.trace_sample_ratio <= 1.0:
            raise ConfigError("PHOTOSHARE_TRACE_SAMPLE_RATIO must lie within 0 and 1")
        if self.backend not in ("embedded", "production"):
            raise ConfigError(f"PHOTOSHARE_BACKEND={self.backend!r}: use embedded or production")

    def abuse_limit(self, limit: int) -> int:
        """A per-user or per-address limit as applied: scaled like the rate limits (0: off)."""
        return round(limit * self.rate_limit_scale)

    @property
    def production(self) -> bool:
        return self.backend == "production"


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL (a CDN's base may have a path)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(raw: str) -> Path:
    return Path(raw)


def _bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


_bool.__name__ = "boolean (1/0, true/false)"
_PARSERS: dict[type, Callable[[str], Any]] = {
    int: int,
    float: float,
    str: str,
    bool: _bool,
    type(Path()): _path,
}

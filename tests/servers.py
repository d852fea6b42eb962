"""The real servers the production-backend tests run against (started by `make services`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from common.cassandra import CassandraConfig
from common.settings import Settings

CASSANDRA_PORT = int(os.environ.get("PHOTOSHARE_CASSANDRA_PORT", "9042"))
REDIS_URL = os.environ.get("PHOTOSHARE_REDIS_URL", "redis://127.0.0.1:6379/0")
KAFKA_BOOTSTRAP = os.environ.get("PHOTOSHARE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
S3_ENDPOINT = os.environ.get("PHOTOSHARE_S3_ENDPOINT", "http://127.0.0.1:8333")
# One keyspace per test session; tables are emptied between tests.
TEST_KEYSPACE = f"photoshare_test_{uuid.uuid4().hex[:8]}"


def require(name: str, port: int) -> None:
    """Production tests never skip: a missing server is a failure that says what to run."""
    with socket.socket() as s:
        s.settimeout(1)
        if s.connect_ex(("127.0.0.1", port)) != 0:
            pytest.fail(f"{name} is not running on 127.0.0.1:{port}: run `make services` first")


used_cassandra = False


def cassandra_config() -> CassandraConfig:
    global used_cassandra
    require("Cassandra", CASSANDRA_PORT)
    used_cassandra = True
    return CassandraConfig(port=CASSANDRA_PORT, keyspace=TEST_KEYSPACE)


def production_settings(**overrides: Any) -> Settings:
    """Settings that point the services' own factories at the test servers: the session's
    keyspace, and a Redis key and Kafka topic prefix of their own."""
    require("Cassandra", CASSANDRA_PORT)
    require_redis()
    global used_cassandra
    used_cassandra = True
    prefix = unique_prefix()
    values: dict[str, Any] = {
        "backend": "production",
        "cassandra_port": CASSANDRA_PORT,
        "cassandra_keyspace": TEST_KEYSPACE,
        "redis_url": REDIS_URL,
        "redis_prefix": prefix,
        "kafka_bootstrap": KAFKA_BOOTSTRAP,
        "kafka_topic_prefix": prefix,
        "s3_endpoint": S3_ENDPOINT,
        "s3_bucket": bucket_name(prefix),
    }
    return Settings(**{**values, **overrides})


def bucket_name(prefix: str) -> str:
    """A test's own bucket (S3 names: lowercase letters, digits and dashes)."""
    return f"photoshare-{prefix.strip('.')}"


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


def require_redis() -> None:
    require("Redis", int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]))


def require_kafka() -> None:
    require("Kafka", int(KAFKA_BOOTSTRAP.rsplit(":", 1)[1]))


def require_s3() -> None:
    require("SeaweedFS (S3)", int(S3_ENDPOINT.rsplit(":", 1)[1]))


async def drop_bucket(bucket: str) -> None:
    """Deletes a test's bucket and everything in it."""
    from botocore.exceptions import ClientError

    from deploy.services import S3_ACCESS_KEY, S3_SECRET_KEY
    from media_svc.storage.s3_objects import S3Config, s3_client

    if TYPE_CHECKING:
        from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

    async with s3_client(S3Config(S3_ENDPOINT, bucket, S3_ACCESS_KEY, S3_SECRET_KEY)) as s3:
        try:
            async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys: list[ObjectIdentifierTypeDef] = [
                    {"Key": o["Key"]} for o in page.get("Contents", ())
                ]
                if keys:
                    await s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            await s3.delete_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise


def drop_bucket_now(bucket: str) -> None:
    """drop_bucket for synchronous code, also code that runs inside an event loop (an async
    test's cleanup): on a thread with a loop of its own."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, drop_bucket(bucket)).result()


def drop_keyspace(keyspace: str) -> None:
    """Tests leave no keyspace behind: every table costs the single test node heap."""
    from cassandra.cluster import Cluster

    cluster = Cluster(["127.0.0.1"], port=CASSANDRA_PORT, protocol_version=5)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        cluster.shutdown()


def drop_topics(prefix: str) -> None:
    """Deletes the topics a test made (all named with its own prefix)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP)
    try:
        doomed = [t for t in admin.list_topics() if t.startswith(prefix)]
        if doomed:
            admin.delete_topics(doomed)
        groups = [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(prefix)]
        if groups:
            admin.delete_groups(groups)
    finally:
        admin.close()


class OwnServer:
    """A server one test starts, stops and starts again (the outage tests), on its own port
    with its own data, so the shared servers the rest of the suite uses are never touched."""

    def __init__(
        self,
        name: str,
        command: list[str],
        ready: Callable[[], object],
        log: Path,
        *,
        start_timeout_s: float = 90.0,
    ) -> None:
        self.name = name
        self._command = command
        self._ready = ready
        self._log = log
        self._start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                self._command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self._start_timeout_s
        while True:
            if self._process.poll() is not None:
                pytest.fail(f"{self.name} exited at start; see {self._log}")
            try:
                self._ready()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def own_redis(port: int, data: Path) -> OwnServer:
    import redis

    from deploy.services import redis_command

    def ready() -> object:
        with redis.Redis(port=port, socket_timeout=1) as client:
            return client.ping()

    return OwnServer("redis", redis_command(port, data), ready, data / "redis.log")


def own_sentinel(port: int, primary_port: int, name: str, home: Path) -> OwnServer:
    """A Redis Sentinel watching the Redis on `primary_port` under `name`."""
    import redis

    home.mkdir(parents=True, exist_ok=True)
    config = home / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {home}\n"
        f"sentinel monitor {name} 127.0.0.1 {primary_port} 1\n"
    )

    def ready() -> object:
        with redis.Redis(port=port, socket_timeout=1) as client:
            return client.sentinel_master(name)

    command = ["redis-server", str(config), "--sentinel"]
    return OwnServer("sentinel", command, ready, home / "sentinel.log")


def own_kafka(port: int, controller_port: int, home: Path) -> OwnServer:
    from kafka import KafkaAdminClient

    from deploy.services import kafka_command

    def ready() -> object:
        # A client made before the port listens leaks its socket: wait for the port first.
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=3000)
        try:
            return admin.list_topics()
        finally:
            admin.close()

    home.mkdir(parents=True, exist_ok=True)
    command = kafka_command(home, port, controller_port)
    return OwnServer("kafka", command, ready, home / "kafka.log", start_timeout_s=120)


def stable_port() -> int:
    """A free port below the kernel's ephemeral range, for a server a test stops and starts.

    While nothing listens on an ephemeral port, a client retrying to connect to it can be
    given that very port as its own and connect to itself (TCP simultaneous open): a Redis
    client then reads its own command back as the answer. Real servers listen on fixed ports
    below the range; so do the ones the outage tests stop.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(20_000, min(low, 30_000)), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")

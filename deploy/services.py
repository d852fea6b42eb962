"""Real Cassandra, Kafka (KRaft), Redis and SeaweedFS (an S3 object store) on 127.0.0.1, from
the package registries only.

    python -m deploy.services start    # what `make services` does; safe to run twice
    python -m deploy.services stop     # `make services-stop`
    python -m deploy.services status

Jars come from Maven Central (deploy/servers/*/pom.xml), Redis from Debian, SeaweedFS from the
Go module proxy (built once, a few minutes). Everything the servers write lives under
.services/ (PHOTOSHARE_SERVICES_DIR).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.settings import Settings
from deploy.daemons import Daemon, Daemons, command_line

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ROOT / "deploy" / "servers"
STATE = Path(os.environ.get("PHOTOSHARE_SERVICES_DIR", ROOT / ".services")).resolve()
HOST = "127.0.0.1"


def _run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def _maven_libs(name: str) -> Path:
    lib = STATE / name / "lib"
    marker = lib / ".complete"
    pom = SERVERS / name / "pom.xml"
    if marker.exists() and marker.read_text() == pom.read_text():
        return lib
    shutil.rmtree(lib, ignore_errors=True)  # two versions of a jar on one classpath break the JVM
    print(f"fetching {name} jars from Maven Central ...", flush=True)
    _run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
        ]
    )
    marker.write_text(pom.read_text())
    return lib


def _template(source: Path, target: Path, **values: object) -> Path:
    text = source.read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


# --- Redis -------------------------------------------------------------------------------

REDIS_PORT = 6379


def _redis() -> list[str]:
    return redis_command(REDIS_PORT, STATE / "redis")


def redis_command(port: int, data: Path, host: str = HOST, *extra: str) -> list[str]:
    """A Redis on `host`:`port` (installed from Debian when missing), `extra` arguments
    after ours; the outage tests and the cluster start theirs with it."""
    install_redis()
    data.mkdir(parents=True, exist_ok=True)
    # Timelines and caches only: they are rebuilt from Cassandra, so no persistence is needed.
    return [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        host,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data),
        "--protected-mode",
        "yes",
        *extra,
    ]


def install_redis() -> None:
    if shutil.which("redis-server") is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        _run([*sudo, "apt-get", "update", "-qq"])
        _run(
            [*sudo, "apt-get", "install", "-y", "-qq", "redis-server"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )


def _redis_ready() -> None:
    with socket.create_connection((HOST, REDIS_PORT), timeout=1) as s:
        s.sendall(b"PING\r\n")
        if not s.recv(16).startswith(b"+PONG"):
            raise ConnectionError("redis did not answer PONG")


# --- Kafka -------------------------------------------------------------------------------

KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093


def _kafka() -> list[str]:
    return kafka_command(STATE / "kafka", KAFKA_PORT, KAFKA_CONTROLLER_PORT)


@dataclass(frozen=True)
class KafkaNode:
    """One broker (and KRaft controller) of a cluster; the defaults make a single node."""

    host: str = HOST
    node_id: int = 1
    voters: str = ""  # "1@host:port,...": the controllers; empty: this node alone
    replication: int = 1  # of the internal topics, and the default of new ones
    min_insync: int = 1
    cluster_id: str = ""  # every node of a cluster is formatted with the same one


def kafka_command(
    home: Path, port: int, controller_port: int, node: KafkaNode = KafkaNode()
) -> list[str]:
    """A KRaft broker on `node.host`:`port` keeping its data under `home` (formatted on
    first use); the outage tests and the cluster start theirs with it."""
    lib = _maven_libs("kafka")
    conf = SERVERS / "kafka" / "conf"
    properties = _template(
        conf / "server.properties.template",
        home / "server.properties",
        data=home / "data",
        port=port,
        controller_port=controller_port,
        host=node.host,
        node_id=node.node_id,
        voters=node.voters or f"{node.node_id}@{node.host}:{controller_port}",
        replication=node.replication,
        min_insync=node.min_insync,
    )
    classpath = f"{lib}/*"
    if not (home / "data" / "meta.properties").exists():
        cluster_id = node.cluster_id or new_kafka_cluster_id()
        _run(
            [
                "java",
                "-Xmx256m",
                "-cp",
                classpath,
                f"-Dlog4j.configuration=file:{conf / 'tools-log4j.properties'}",
                "kafka.tools.StorageTool",
                "format",
                # One argument: a random id may start with "-" and read as an option.
                f"--cluster-id={cluster_id}",
                "-c",
                str(properties),
                "--ignore-formatted",
            ],
            stdout=subprocess.DEVNULL,
        )
    (home / "logs").mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return [
        "java",
        "-Xms512m",
        "-Xmx512m",
        "-server",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Djava.io.tmpdir={home / 'tmp'}",
        f"-Dkafka.logs.dir={home / 'logs'}",
        f"-Dlog4j.configuration=file:{conf / 'log4j.properties'}",
        "-cp",
        classpath,
        "kafka.Kafka",
        str(properties),
    ]


def new_kafka_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _kafka_ready() -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=f"{HOST}:{KAFKA_PORT}", request_timeout_ms=5000)
    try:
        admin.list_topics()
    finally:
        admin.close()


# --- Cassandra ---------------------------------------------------------------------------

CASSANDRA_PORT = 9042
CASSANDRA_STORAGE_PORT = 7000

_CASSANDRA_JVM = [
    "-ea",
    "-da:net.openhft...",
    "-XX:+UseThreadPriorities",
    "-Xss256k",
    "-XX:+UseTLAB",
    "-XX:+ResizeTLAB",
    "-XX:+PerfDisableSharedMem",
    "-Djava.net.preferIPv4Stack=true",
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1HeapRegionSize=16m",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports",
    "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports",
    "java.management/com.sun.jmx.remote.security=ALL-UNNAMED",
    "--add-exports",
    "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports",
    "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports",
    "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports",
    "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports",
    "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens",
    "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens",
    "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens",
    "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.io=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.lang=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.util=ALL-UNNAMED",
    "--add-opens",
    "java.base/java.nio=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
    "-XX:+ExitOnOutOfMemoryError",
    "-Dcassandra-foreground=yes",
    "-Dcassandra.skip_wait_for_gossip_to_settle=0",
]


def _cassandra() -> list[str]:
    return cassandra_command(STATE / "cassandra", CassandraNode())


@dataclass(frozen=True)
class CassandraNode:
    """One node of a cluster; the defaults make the single development node."""

    host: str = HOST
    seeds: str = HOST  # the seed nodes' addresses, comma-separated
    initial_token: int = 0
    heap: str = "2G"
    # A single development node syncs its commit log every 10 s; a cluster node before it
    # acknowledges (in groups of 10 ms), so a node killed mid-write has every write it
    # answered, and the others keep hints for it while it is down.
    cluster: bool = False


def cassandra_command(home: Path, node: CassandraNode) -> list[str]:
    """A Cassandra node keeping its data under `home`; the cluster starts three with it."""
    lib = _maven_libs("cassandra")
    for sub in ("data", "commitlog", "saved_caches", "hints", "cdc_raw", "logs", "tmp", "triggers"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    conf_dir = home / "conf"
    _template(
        SERVERS / "cassandra" / "conf" / "cassandra.yaml.template",
        conf_dir / "cassandra.yaml",
        dir=home,
        port=CASSANDRA_PORT,
        storage_port=CASSANDRA_STORAGE_PORT,
        host=node.host,
        seeds=",".join(f"{seed}:{CASSANDRA_STORAGE_PORT}" for seed in node.seeds.split(",")),
        initial_token=node.initial_token,
        commitlog_sync="group" if node.cluster else "periodic",
        commitlog_sync_setting="commitlog_sync_group_window: 10ms"
        if node.cluster
        else "commitlog_sync_period: 10000ms",
        hinted_handoff=str(node.cluster).lower(),
    )
    shutil.copy(SERVERS / "cassandra" / "conf" / "logback.xml", conf_dir / "logback.xml")
    jamm = next(lib.glob("*jamm-*.jar"))
    return [
        "java",
        f"-Xms{node.heap}",
        f"-Xmx{node.heap}",
        *_CASSANDRA_JVM,
        f"-javaagent:{jamm}",
        f"-Dcassandra.config=file://{conf_dir / 'cassandra.yaml'}",
        f"-Dlogback.configurationFile={conf_dir / 'logback.xml'}",
        f"-Dcassandra.logdir={home / 'logs'}",
        f"-Dcassandra.storagedir={home}",
        f"-Dcassandra.triggers_dir={home / 'triggers'}",
        f"-Djava.io.tmpdir={home / 'tmp'}",
        f"-Djna.tmpdir={home / 'tmp'}",
        "-cp",
        f"{conf_dir}:{lib}/*",
        "org.apache.cassandra.service.CassandraDaemon",
    ]


def _cassandra_ready() -> None:
    from cassandra.cluster import Cluster

    cluster = Cluster([HOST], port=CASSANDRA_PORT, protocol_version=5, connect_timeout=5)
    try:
        cluster.connect().execute("SELECT release_version FROM system.local").one()
    finally:
        cluster.shutdown()


# --- SeaweedFS ---------------------------------------------------------------------------

SEAWEEDFS_MODULE = "github.com/seaweedfs/seaweedfs@v0.0.0-20261109003541-7506e5f91cd6"
S3_PORT = 8333
# The S3 identity `make services` configures: the settings' defaults (development only).
_DEFAULTS = Settings()
S3_ACCESS_KEY, S3_SECRET_KEY = _DEFAULTS.s3_access_key, _DEFAULTS.s3_secret_key
# Away from the defaults (the volume server's 8080 is the gateway's port).
_SEAWEEDFS_PORTS = {"master": 19333, "volume": 18080, "filer": 18888, "s3": S3_PORT}


def seaweedfs_binary() -> Path:
    """The `weed` binary, built from the Go module proxy once and kept under .services/ (the
    module's replace directives rule out `go install`, so it is built in a copy)."""
    home = STATE / "seaweedfs"
    binary, marker = home / "bin" / "weed", home / "bin" / ".module"
    if binary.exists() and marker.exists() and marker.read_text() == SEAWEEDFS_MODULE:
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    print("building SeaweedFS from the Go module proxy (a few minutes, once) ...", flush=True)
    listing = subprocess.run(
        [go, "mod", "download", "-json", SEAWEEDFS_MODULE],
        check=True,
        capture_output=True,
        text=True,
    )
    source = home / "src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(json.loads(listing.stdout)["Dir"], source)
    for path in (source, *source.rglob("*")):  # the module cache is read-only
        path.chmod(path.stat().st_mode | 0o200)
    binary.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [go, "build", "-buildvcs=false", "-o", str(binary), "./weed"],
        cwd=source,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    shutil.rmtree(source)
    marker.write_text(SEAWEEDFS_MODULE)
    return binary


def _seaweedfs() -> list[str]:
    return seaweedfs_command(seaweedfs_binary(), STATE / "seaweedfs", _SEAWEEDFS_PORTS)


def seaweedfs_command(binary: Path, home: Path, ports: dict[str, int]) -> list[str]:
    """Master, volume server, filer and S3 gateway in one process, data under `home`."""
    for sub in ("data", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "s3.json").write_text(json.dumps(s3_identities()))
    flags = [f"-ip={HOST}", f"-ip.bind={HOST}", f"-dir={home / 'data'}"]
    for name, port in ports.items():
        flags += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10_000}"]
    return [
        "env",
        f"TMPDIR={home / 'tmp'}",  # its unix sockets
        str(binary),
        "server",
        *flags,
        "-master.volumeSizeLimitMB=64",
        # Each bucket is a collection that grows 7 volumes at its first write, and tests make
        # a bucket each: as many volumes as the free disk holds (sparse files; 0 = auto).
        "-volume.max=0",
        "-volume.preStopSeconds=0",  # it otherwise waits 10 s before it stops
        "-filer",
        "-s3",
        f"-s3.config={home / 's3.json'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def s3_identities() -> dict[str, Any]:
    """SeaweedFS's S3 configuration: the development key pair, allowed everything."""
    return {
        "identities": [
            {
                "name": "photoshare",
                "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def _seaweedfs_ready() -> None:
    s3_ready(f"http://{HOST}:{S3_PORT}")


def s3_ready(endpoint: str) -> None:
    """Returns once a signed S3 request is answered (the S3 gateway has found its filer)."""
    import asyncio

    from media_svc.storage.s3_objects import S3Config, s3_client

    config = S3Config(endpoint, "", S3_ACCESS_KEY, S3_SECRET_KEY)

    async def list_buckets() -> None:
        async with s3_client(config) as s3:
            await s3.list_buckets()

    asyncio.run(list_buckets())


SERVERS_BY_NAME = {
    s.name: s
    for s in (
        Daemon("redis", HOST, REDIS_PORT, _redis, _redis_ready, 20),
        Daemon("kafka", HOST, KAFKA_PORT, _kafka, _kafka_ready, 120),
        Daemon("cassandra", HOST, CASSANDRA_PORT, _cassandra, _cassandra_ready, 240),
        Daemon("seaweedfs", HOST, S3_PORT, _seaweedfs, _seaweedfs_ready, 120),
    )
}


def start(names: list[str]) -> None:
    daemons = Daemons(STATE)
    launched = {name: daemons.launch(SERVERS_BY_NAME[name]) for name in names}
    for name, process in launched.items():
        state = f"starting (pid {process.pid})" if process else "already running"
        print(f"{name}: {state}", flush=True)
    for name, process in launched.items():
        server = SERVERS_BY_NAME[name]
        took = daemons.wait_ready(server, process)
        print(f"{name}: ready on {HOST}:{server.port} ({took:.1f} s)", flush=True)


def stop(names: list[str]) -> None:
    daemons = Daemons(STATE)
    for name in reversed(names):
        stopped = daemons.stop(SERVERS_BY_NAME[name])
        print(f"{name}: {'stopped' if stopped else 'not running'}", flush=True)


def status(names: list[str]) -> None:
    daemons = Daemons(STATE)
    for name in names:
        server = SERVERS_BY_NAME[name]
        up = "up" if daemons.is_up(server) else "down"
        print(f"{name}: {up} on {HOST}:{server.port} (pid {daemons.running_pid(name)})")


def lag(names: list[str]) -> None:
    """Consumer lag per group: how many events each consumer group still has to handle."""
    from kafka import KafkaAdminClient, KafkaConsumer

    bootstrap = f"{HOST}:{KAFKA_PORT}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        for group in sorted(g["group_id"] for g in admin.list_groups()):
            committed = admin.list_group_offsets([group]).get(group, {})
            ends = consumer.end_offsets(list(committed)) if committed else {}
            behind = sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items())
            print(f"{group}: {behind} events behind")
    finally:
        consumer.close()
        admin.close()


def main(argv: list[str]) -> int:
    actions = {"start": start, "stop": stop, "status": status, "lag": lag}
    return command_line(["deploy.services", *argv[1:]], list(SERVERS_BY_NAME), actions)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

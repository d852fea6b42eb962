"""Cassandra, Kafka, Redis and SeaweedFS as clusters on this one machine, on 127.0.0.2-4: what
production runs on, small enough to lose a node of each kind and watch Photoshare carry on.

    python -m deploy.cluster start     # `make cluster`; safe to run twice
    python -m deploy.cluster stop      # `make cluster-stop`
    python -m deploy.cluster status
    python -m deploy.cluster env       # the PHOTOSHARE_* settings that point a mesh at it

- Cassandra: 3 nodes (127.0.0.2-4:9042), one token each spread evenly; keyspaces replicated
  3 times, reads and writes at (LOCAL_)QUORUM; a write is acknowledged once the commit logs
  of two nodes have it on disk (group commit, 10 ms), and hints wait for a node that is down.
- Kafka: 3 KRaft brokers that are also the controllers (127.0.0.2-4:9092); topics replicated 3
  times with min.insync.replicas=2, so the producer's acks=all needs two copies.
- Redis: a primary (127.0.0.2:6379) and its replica (127.0.0.3:6379), watched by three
  Sentinels (127.0.0.2-4:26379, two must agree) that promote the replica when the primary is
  lost; clients ask the Sentinels where the primary is.
- SeaweedFS: a master (127.0.0.2:9333), three volume servers (127.0.0.2-4:18080) that keep
  every volume on two of them (replication 001), a filer with the S3 gateway (127.0.0.2:8333).

Memory: Cassandra 3 x 1 GB of heap, Kafka 3 x 512 MB, the rest under 1 GB: about 6 GB with
the JVMs' own overhead. Everything the nodes write lives under .cluster/
(PHOTOSHARE_CLUSTER_DIR); the fault test (tests/fault/) kills and restarts nodes through
`kill`, `launch` and `wait_ready` here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deploy import services
from deploy.daemons import Daemon, Daemons, command_line, port_open
from deploy.services import CASSANDRA_PORT, CassandraNode, KafkaNode

ROOT = services.ROOT
STATE = Path(os.environ.get("PHOTOSHARE_CLUSTER_DIR", ROOT / ".cluster")).resolve()
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
SEED = HOSTS[0]
KAFKA_PORT, KAFKA_CONTROLLER_PORT = 9092, 9093
REDIS_PORT, SENTINEL_PORT = 6379, 26379
REDIS_PRIMARY_NAME = "photoshare"
SEAWEED_MASTER_PORT, SEAWEED_VOLUME_PORT, SEAWEED_FILER_PORT, S3_PORT = 9333, 18080, 8888, 8333


def mesh_settings() -> dict[str, str]:
    """The settings that point a mesh at the cluster."""
    return {
        "PHOTOSHARE_BACKEND": "production",
        "PHOTOSHARE_CASSANDRA_HOSTS": ",".join(HOSTS),
        "PHOTOSHARE_CASSANDRA_REPLICATION": "{'class': 'SimpleStrategy', 'replication_factor': 3}",
        "PHOTOSHARE_KAFKA_BOOTSTRAP": ",".join(f"{h}:{KAFKA_PORT}" for h in HOSTS),
        "PHOTOSHARE_KAFKA_REPLICATION": "3",
        "PHOTOSHARE_REDIS_SENTINELS": ",".join(f"{h}:{SENTINEL_PORT}" for h in HOSTS),
        "PHOTOSHARE_REDIS_SENTINEL_PRIMARY": REDIS_PRIMARY_NAME,
        "PHOTOSHARE_S3_ENDPOINT": f"http://{SEED}:{S3_PORT}",
    }


# --- Cassandra ---------------------------------------------------------------------------

_TOKENS = [-(2**63) + i * (2**64 // len(HOSTS)) for i in range(len(HOSTS))]


def _cassandra(index: int, host: str) -> Daemon:
    node = CassandraNode(
        host=host, seeds=SEED, initial_token=_TOKENS[index], heap="1G", cluster=True
    )
    home = STATE / f"cassandra-{host_number(host)}"
    return Daemon(
        f"cassandra-{host_number(host)}",
        host,
        CASSANDRA_PORT,
        lambda: services.cassandra_command(home, node),
        lambda: _cassandra_ready(host),
        240,
    )


def _cassandra_ready(host: str) -> None:
    """Up once a client of the whole cluster reaches it, and it knows every other node that
    is running."""
    from cassandra.cluster import Cluster

    cluster = Cluster(list(HOSTS), port=CASSANDRA_PORT, protocol_version=5, connect_timeout=5)
    try:
        session = cluster.connect()
        node = next(h for h in cluster.metadata.all_hosts() if str(h.address) == host)
        if not node.is_up:
            raise ConnectionError(f"{host} is not reachable yet")
        rows = session.execute("SELECT peer FROM system.peers", host=node)
        peers = {str(row.peer) for row in rows}
        running = {h for h in HOSTS if h != host and is_running(f"cassandra-{host_number(h)}")}
        if not running <= peers:
            raise ConnectionError(f"{host} does not know {sorted(running - peers)} yet")
    finally:
        cluster.shutdown()


# --- Kafka -------------------------------------------------------------------------------


def _kafka(host: str) -> Daemon:
    number = host_number(host)
    voters = ",".join(f"{host_number(h)}@{h}:{KAFKA_CONTROLLER_PORT}" for h in HOSTS)
    home = STATE / f"kafka-{number}"

    def command() -> list[str]:
        node = KafkaNode(host, number, voters, 3, 2, _kafka_cluster_id())
        return services.kafka_command(home, KAFKA_PORT, KAFKA_CONTROLLER_PORT, node)

    return Daemon(f"kafka-{number}", host, KAFKA_PORT, command, lambda: _kafka_ready(host), 120)


def _kafka_cluster_id() -> str:
    """One id for the three brokers' storage, made once."""
    path = STATE / "kafka-cluster-id"
    if not path.exists():
        path.write_text(services.new_kafka_cluster_id())
    return path.read_text().strip()


def _kafka_ready(host: str) -> None:
    """Up once it is a broker of the cluster again: listed in the cluster's metadata."""
    from kafka import KafkaAdminClient

    # kafka-python leaves the sockets of a client it could not start open: look first.
    if not port_open(host, KAFKA_PORT):
        raise ConnectionError(f"nothing listens on {host}:{KAFKA_PORT} yet")
    admin = KafkaAdminClient(bootstrap_servers=f"{host}:{KAFKA_PORT}", request_timeout_ms=5000)
    try:
        brokers = {b["host"] for b in admin.describe_cluster()["brokers"]}
        if host not in brokers:
            raise ConnectionError(f"{host} is not among the brokers {sorted(brokers)}")
    finally:
        admin.close()


# --- Redis -------------------------------------------------------------------------------


def _redis(host: str, replica_of: str | None) -> Daemon:
    home = STATE / f"redis-{host_number(host)}"
    # Loopback connections leave from 127.0.0.1 whatever the address they go to: each server
    # and Sentinel names its own address, or they would all be known as 127.0.0.1.
    extra: tuple[str, ...] = ("--replica-announce-ip", host)
    if replica_of:
        extra += ("--replicaof", replica_of, str(REDIS_PORT))
    return Daemon(
        f"redis-{host_number(host)}",
        host,
        REDIS_PORT,
        lambda: services.redis_command(REDIS_PORT, home, host, *extra),
        lambda: _redis_ready(host),
        30,
    )


def _redis_ready(host: str) -> None:
    """Up once it is the primary the Sentinels name (before they run, the first node), or a
    replica in sync with it: a primary that was failed over rejoins as a replica."""
    import redis

    client = redis.Redis(host=host, port=REDIS_PORT, socket_timeout=1)
    try:
        info = client.info("replication")
    finally:
        client.close()
    primary = redis_primary() or SEED
    if host == primary and info["role"] == "master":
        return
    if info["role"] != "slave" or info.get("master_host") != primary:
        raise ConnectionError(f"{host} is not yet a replica of the primary {primary}")
    if info.get("master_link_status") != "up":
        raise ConnectionError(f"{host} is a replica not yet in sync")


def redis_primary() -> str | None:
    """The primary's host as the Sentinels see it; None when none answers."""
    import redis

    for host in HOSTS:
        sentinel = redis.Redis(
            host=host, port=SENTINEL_PORT, socket_timeout=1, decode_responses=True
        )
        try:
            address = sentinel.sentinel_get_master_addr_by_name(REDIS_PRIMARY_NAME)
        except redis.RedisError:
            continue
        finally:
            sentinel.close()
        if isinstance(address, tuple):
            return str(address[0])
    return None


def _sentinel(host: str) -> Daemon:
    home = STATE / f"sentinel-{host_number(host)}"

    def command() -> list[str]:
        services.install_redis()
        home.mkdir(parents=True, exist_ok=True)
        config = home / "sentinel.conf"
        if not config.exists():  # the Sentinel rewrites it with what it learns
            config.write_text(
                f"port {SENTINEL_PORT}\nbind {host}\ndir {home}\nsentinel announce-ip {host}\n"
                f"sentinel monitor {REDIS_PRIMARY_NAME} {SEED} {REDIS_PORT} 2\n"
                f"sentinel down-after-milliseconds {REDIS_PRIMARY_NAME} 2000\n"
                f"sentinel failover-timeout {REDIS_PRIMARY_NAME} 10000\n"
                f"sentinel parallel-syncs {REDIS_PRIMARY_NAME} 1\n"
            )
        return ["redis-server", str(config), "--sentinel"]

    return Daemon(
        f"sentinel-{host_number(host)}",
        host,
        SENTINEL_PORT,
        command,
        lambda: _sentinel_ready(host),
        30,
    )


def _sentinel_ready(host: str) -> None:
    import redis

    client = redis.Redis(host=host, port=SENTINEL_PORT, socket_timeout=1)
    try:
        primary = client.sentinel_master(REDIS_PRIMARY_NAME)
        if not isinstance(primary, dict) or primary.get("num-other-sentinels", 0) < 1:
            raise ConnectionError(f"the Sentinel on {host} has not met the others yet")
    finally:
        client.close()


# --- SeaweedFS ---------------------------------------------------------------------------


def _weed(*args: str) -> list[str]:
    return [str(services.seaweedfs_binary()), *args]


def _listening(host: str, port: int) -> list[str]:
    """Where a SeaweedFS server listens: HTTP on `port`, gRPC 10,000 above (what its clients
    assume)."""
    return [f"-ip={host}", f"-ip.bind={host}", f"-port={port}", f"-port.grpc={port + 10_000}"]


def _seaweed_master() -> Daemon:
    home = STATE / "seaweed-master"

    def command() -> list[str]:
        home.mkdir(parents=True, exist_ok=True)
        return _weed(
            "master",
            *_listening(SEED, SEAWEED_MASTER_PORT),
            f"-mdir={home}",
            "-defaultReplication=001",  # every volume on two servers of the rack
            "-volumeSizeLimitMB=64",
        )

    return Daemon(
        "seaweed-master",
        SEED,
        SEAWEED_MASTER_PORT,
        command,
        _seaweed_master_ready,
        60,
    )


def _seaweed_master_ready() -> None:
    _http_get(f"http://{SEED}:{SEAWEED_MASTER_PORT}/cluster/status")


def _seaweed_volume(host: str) -> Daemon:
    home = STATE / f"seaweed-volume-{host_number(host)}"

    def command() -> list[str]:
        home.mkdir(parents=True, exist_ok=True)
        return _weed(
            "volume",
            *_listening(host, SEAWEED_VOLUME_PORT),
            f"-dir={home}",
            "-max=0",  # as many 64 MB volumes as the disk holds
            f"-mserver={SEED}:{SEAWEED_MASTER_PORT}",
            "-dataCenter=dc1",
            "-rack=rack1",
            "-preStopSeconds=0",
        )

    return Daemon(
        f"seaweed-volume-{host_number(host)}",
        host,
        SEAWEED_VOLUME_PORT,
        command,
        lambda: _seaweed_volume_ready(host),
        60,
    )


def _seaweed_volume_ready(host: str) -> None:
    """Up once the master lists it among its volume servers."""
    topology = json.loads(_http_get(f"http://{SEED}:{SEAWEED_MASTER_PORT}/dir/status"))
    servers = {
        node["Url"]
        for dc in topology["Topology"]["DataCenters"]
        for rack in dc["Racks"]
        for node in rack["DataNodes"]
    }
    if f"{host}:{SEAWEED_VOLUME_PORT}" not in servers:
        raise ConnectionError(f"the master does not list {host} yet: {sorted(servers)}")


def _seaweed_filer() -> Daemon:
    home = STATE / "seaweed-filer"

    def command() -> list[str]:
        home.mkdir(parents=True, exist_ok=True)
        identities = services.s3_identities()
        (home / "s3.json").write_text(json.dumps(identities))
        return [
            "env",
            f"TMPDIR={home}",
            *_weed(
                "filer",
                *_listening(SEED, SEAWEED_FILER_PORT),
                f"-master={SEED}:{SEAWEED_MASTER_PORT}",
                f"-defaultStoreDir={home}",
                "-defaultReplicaPlacement=001",
                "-s3",
                f"-s3.port={S3_PORT}",
                f"-s3.config={home / 's3.json'}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ),
        ]

    return Daemon(
        "seaweed-filer",
        SEED,
        S3_PORT,
        command,
        lambda: services.s3_ready(f"http://{SEED}:{S3_PORT}"),
        60,
    )


def _http_get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as reply:
        body: bytes = reply.read()
        return body


# --- the cluster -------------------------------------------------------------------------


def host_number(host: str) -> int:
    return int(host.rsplit(".", 1)[1])


NODES: dict[str, Daemon] = {
    n.name: n
    for n in (
        *(_cassandra(i, h) for i, h in enumerate(HOSTS)),
        *(_kafka(h) for h in HOSTS),
        _redis(HOSTS[0], None),
        _redis(HOSTS[1], HOSTS[0]),
        *(_sentinel(h) for h in HOSTS),
        _seaweed_master(),
        *(_seaweed_volume(h) for h in HOSTS),
        _seaweed_filer(),
    )
}
# Started in this order, a stage at a time; the nodes of a stage start together.
_STAGES = (
    ("cassandra-2", "kafka-2", "kafka-3", "kafka-4", "redis-2", "seaweed-master"),
    ("cassandra-3", "cassandra-4", "redis-3", "seaweed-volume-2", "seaweed-volume-3"),
    ("sentinel-2", "sentinel-3", "sentinel-4", "seaweed-volume-4", "seaweed-filer"),
)
DAEMONS = Daemons(STATE)


def is_running(name: str) -> bool:
    return DAEMONS.running_pid(name) is not None


def launch(name: str) -> subprocess.Popen[bytes] | None:
    """Starts the node unless it runs; its process (None when it was running)."""
    return DAEMONS.launch(NODES[name])


def wait_ready(name: str, process: subprocess.Popen[bytes] | None = None) -> float:
    """Waits until the node does its job in the cluster; returns how long that took."""
    return DAEMONS.wait_ready(NODES[name], process)


def kill(name: str) -> None:
    """kill -9 of the node, as a power cut or the OOM killer would."""
    DAEMONS.kill(NODES[name])


def start(names: list[str]) -> None:
    for stage in _STAGES:
        launched = {name: launch(name) for name in stage if name in names}
        for name, process in launched.items():
            print(f"{name}: {'starting' if process else 'already running'}", flush=True)
        for name, process in launched.items():
            took = wait_ready(name, process)
            print(f"{name}: ready on {NODES[name].host}:{NODES[name].port} ({took:.1f} s)")


def stop(names: list[str]) -> None:
    for name in reversed(list(NODES)):
        if name in names and DAEMONS.stop(NODES[name]):
            print(f"{name}: stopped", flush=True)


def status(names: list[str]) -> None:
    for name in names:
        node = NODES[name]
        up = "up" if DAEMONS.is_up(node) else "down"
        print(f"{name}: {up} on {node.host}:{node.port} (pid {DAEMONS.running_pid(name)})")


def main(argv: list[str]) -> int:
    actions = {"start": start, "stop": stop, "status": status, "env": print_settings}
    return command_line(["deploy.cluster", *argv[1:]], list(NODES), actions)


def print_settings(names: list[str]) -> None:
    for key, value in mesh_settings().items():
        print(f'export {key}="{value}"')


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Backends chosen by configuration: the same interfaces, embedded or production."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from common.events.base import LagReport
from common.events.sqlite import SqliteEventLog
from common.metrics import Metrics
from common.settings import Settings
from common.worker_ids.lock_file import LockFileWorkerId

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from common.cassandra import CassandraConfig
    from common.events.kafka import KafkaEventLog
    from common.events.outbox import OutboxEventLog
    from common.worker_ids.lease import LeasedWorkerId


def event_log(
    settings: Settings, owner: str, metrics: Metrics | None = None
) -> SqliteEventLog | OutboxEventLog:
    """The event log of the service `owner`; in production, Kafka with an outbox in Cassandra
    for the events Kafka does not take while it is down. Its consumers' lag goes to
    `metrics`."""
    report_lag = metrics.report_lag if metrics is not None else None
    if settings.production:
        from common.events.cassandra_outbox import CassandraOutbox
        from common.events.outbox import OutboxEventLog

        outbox = CassandraOutbox(cassandra_config(settings), owner=owner)
        return OutboxEventLog(_kafka(settings, report_lag), outbox)
    return _sqlite_events(settings, report_lag)


def event_tail(settings: Settings) -> SqliteEventLog | KafkaEventLog:
    """The event log of a process that only tails it (the gateway): no outbox, it never
    publishes."""
    return _kafka(settings) if settings.production else _sqlite_events(settings)


def _kafka(settings: Settings, report_lag: LagReport | None = None) -> KafkaEventLog:
    from common.events.kafka import KafkaEventLog

    return KafkaEventLog(
        settings.kafka_bootstrap,
        topic_prefix=settings.kafka_topic_prefix,
        partitions=settings.kafka_partitions,
        replication=settings.kafka_replication,
        instance_id=settings.instance_id or socket.gethostname(),
        report_lag=report_lag,
    )


def _sqlite_events(settings: Settings, report_lag: LagReport | None = None) -> SqliteEventLog:
    return SqliteEventLog(
        settings.data_dir / "events.db",
        poll_interval_s=settings.event_poll_interval_s,
        report_lag=report_lag,
    )


def worker_id(settings: Settings, owner: str) -> LockFileWorkerId | LeasedWorkerId:
    """The worker id the process `owner` mints ids with: leased from Cassandra in production
    (renew it with `.keep`), a lock file in the data directory embedded."""
    if settings.production:
        from common.worker_ids.cassandra import CassandraLeaseStore
        from common.worker_ids.lease import LeasedWorkerId

        store = CassandraLeaseStore(cassandra_config(settings))
        return LeasedWorkerId(store, owner=owner, ttl_s=settings.worker_lease_s)
    return LockFileWorkerId(settings.data_dir / "worker-ids")


def cassandra_config(settings: Settings) -> CassandraConfig:
    from common.cassandra import CassandraConfig

    return CassandraConfig(
        hosts=tuple(h.strip() for h in settings.cassandra_hosts.split(",") if h.strip()),
        port=settings.cassandra_port,
        keyspace=settings.cassandra_keyspace,
        replication=settings.cassandra_replication,
        local_dc=settings.cassandra_local_dc,
        request_timeout_s=settings.rpc_timeout_s,
    )


def redis_client(settings: Settings, name: str) -> aioredis.Redis:
    """A client for one cache, `name` in its log lines; it fails fast while Redis is down."""
    from common.redis_client import guarded_redis

    return guarded_redis(
        settings.redis_url,
        name=f"Redis ({name})",
        sentinels=redis_sentinels(settings),
        primary=settings.redis_sentinel_primary,
    )


def redis_sentinels(settings: Settings) -> list[tuple[str, int]]:
    """The Sentinels' addresses; none when Redis is one server at `redis_url`."""
    addresses = [a.strip() for a in settings.redis_sentinels.split(",") if a.strip()]
    return [(host, int(port)) for host, _, port in (a.rpartition(":") for a in addresses)]

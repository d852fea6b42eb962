"""Cassandra for the production backend: one session per store, prepared statements made once
at start, every call bridged to asyncio without blocking the event loop."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from cassandra import ConsistencyLevel, InvalidRequest, ProtocolVersion
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import DCAwareRoundRobinPolicy, RoundRobinPolicy, TokenAwarePolicy
from cassandra.pool import Host
from cassandra.query import PreparedStatement, dict_factory

Row = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CassandraConfig:
    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 9042
    keyspace: str = "photoshare"
    replication: str = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    local_dc: str = "datacenter1"
    request_timeout_s: float = 5.0


class CassandraStore:
    """Base of the Cassandra backends: connects, migrates its tables, prepares its statements.

    Subclasses list `schema` and `statements` (name -> CQL), both naming tables as `{ks}.table`
    (fully qualified: no `USE`); `await self.run("name", params)` executes one, returns rows.
    A column added later is an `ALTER TABLE {ks}.t ADD c type` entry after the CREATE: it runs
    only where the column is missing.
    """

    schema: Sequence[str] = ()
    statements: Mapping[str, str] = {}

    def __init__(self, config: CassandraConfig) -> None:
        self._config = config
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._prepared: dict[str, PreparedStatement] = {}

    async def open(self) -> None:
        # Connecting, DDL and preparing block: all of it runs off the event loop, once.
        await asyncio.to_thread(self._connect_and_migrate)

    def _connect_and_migrate(self) -> None:
        config = self._config
        profile = ExecutionProfile(
            # Token-aware: prepared statements carry their routing key to the right replica.
            load_balancing_policy=TokenAwarePolicy(
                DCAwareRoundRobinPolicy(local_dc=config.local_dc)
            ),
            consistency_level=ConsistencyLevel.LOCAL_QUORUM,
            serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL,
            request_timeout=config.request_timeout_s,
            row_factory=dict_factory,
        )
        self._cluster = Cluster(
            list(config.hosts),
            port=config.port,
            protocol_version=ProtocolVersion.V5,
            execution_profiles={
                EXEC_PROFILE_DEFAULT: profile,
                _SCHEMA: ExecutionProfile(
                    load_balancing_policy=_OneCoordinator(), request_timeout=SCHEMA_TIMEOUT_S
                ),
            },
            # Each schema change waits until every node has it, before the next statement
            # (or a prepare) may reach a node that would not know the table yet.
            max_schema_agreement_wait=SCHEMA_TIMEOUT_S,
        )
        session = self._cluster.connect()
        # Schema changes wait for every node to agree and queue behind those of the other
        # processes starting at the same time: they get far longer than a request.
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {config.keyspace} "
            f"WITH replication = {config.replication}",
            execution_profile=_SCHEMA,
        )
        for statement in self.schema:
            added = _ADD_COLUMN.match(statement)
            try:
                session.execute(statement.format(ks=config.keyspace), execution_profile=_SCHEMA)
            except InvalidRequest as exc:
                # `ALTER TABLE ... ADD` brings an older table up to date; where the column is
                # there already (an earlier start, or a replica starting beside this one) the
                # coordinator says so from its live schema. Asking system_schema first would
                # not do: a node writes a change there before it applies it, so a column could
                # be found there and still be unknown to the prepare that follows.
                if not (added and "already exists" in str(exc)):
                    raise
        # A table another process created just before (IF NOT EXISTS found it) may not have
        # reached every node yet: nothing is prepared before they all have the schema.
        if not self._cluster.control_connection.wait_for_schema_agreement(
            wait_time=SCHEMA_TIMEOUT_S
        ):
            raise RuntimeError(
                f"the Cassandra nodes disagreed on the schema for {SCHEMA_TIMEOUT_S} s"
            )
        self._prepared = {
            name: session.prepare(cql.format(ks=config.keyspace))
            for name, cql in self.statements.items()
        }
        self._session = session

    async def close(self) -> None:
        if self._cluster is not None:
            await asyncio.to_thread(self._cluster.shutdown)
        self._cluster = self._session = None

    async def run(self, name: str, params: Sequence[Any] = ()) -> list[Row]:
        """Executes a prepared statement; follows result pages until the last."""
        if self._session is None:
            raise RuntimeError("the Cassandra store is not open")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[list[Row]] = loop.create_future()
        rows: list[Row] = []
        response = self._session.execute_async(self._prepared[name], tuple(params))

        def on_page(page: list[Row]) -> None:
            rows.extend(page or ())  # writes answer with no rows
            if response.has_more_pages:
                response.start_fetching_next_page()
            else:
                loop.call_soon_threadsafe(_resolve, done, rows)

        def on_error(exc: BaseException) -> None:
            loop.call_soon_threadsafe(_fail, done, exc)

        # Callbacks run on the driver's I/O thread; the future is completed on the loop.
        response.add_callbacks(on_page, on_error)
        return await done

    async def applied(self, name: str, params: Sequence[Any] = ()) -> bool:
        """Runs a lightweight transaction and says whether it took effect."""
        rows = await self.run(name, params)
        return bool(rows and rows[0]["[applied]"])

    async def live_entries(
        self,
        page: str,
        key: int,
        cursor: str,
        limit: int,
        resolve: Callable[[list[Row]], Awaitable[list[T | None]]],
        drop: str,
    ) -> list[T]:
        """Up to `limit` entries of an index partition that still point to something.

        `page` takes (key, after, limit) and returns rows in `cursor` order; `resolve` turns a
        page of rows into what each points to, None where it is gone (an entry a crash left,
        or one whose target was deleted): such an entry is deleted with `drop`, which takes
        (key, the row's `cursor`)."""
        found: list[T] = []
        after = 0
        while len(found) < limit:
            rows = await self.run(page, (key, after, limit))
            if not rows:
                break
            after = rows[-1][cursor]
            for row, item in zip(rows, await resolve(rows), strict=True):
                if item is None:
                    await self.run(drop, (key, row[cursor]))
                else:
                    found.append(item)
        return found[:limit]


SCHEMA_TIMEOUT_S = 60.0
_SCHEMA = "schema"  # the execution profile of schema changes


class _OneCoordinator(RoundRobinPolicy):  # type: ignore[misc]  # the driver is untyped
    """Schema changes from every process go to the same node (the first by address of those
    up): two nodes creating one table at once would give it two ids, and the cluster would
    disagree on its schema until an operator repaired it."""

    def make_query_plan(
        self, working_keyspace: str | None = None, query: Any = None
    ) -> Iterator[Host]:
        # `_live_hosts` is the up hosts RoundRobinPolicy tracks (cassandra-driver 3.30, pinned).
        return iter(sorted(self._live_hosts, key=lambda host: str(host.address)))


_ADD_COLUMN = re.compile(
    r"\s*ALTER\s+TABLE\s+\{ks\}\.(?P<table>\w+)\s+ADD\s+(?P<column>\w+)", re.IGNORECASE
)


def _resolve(future: asyncio.Future[list[Row]], rows: list[Row]) -> None:
    if not future.done():
        future.set_result(rows)


def _fail(future: asyncio.Future[list[Row]], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)

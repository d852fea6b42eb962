"""The outbox in Cassandra: one partition per owner (a service), entries in time order.

The table only fills while Kafka is down and the relay empties it from the oldest end, one
range deletion per batch sent, so a partition holds at most one outage's events and few
tombstones.
"""

from __future__ import annotations

import uuid

from common.cassandra import CassandraConfig, CassandraStore
from common.events.outbox import OutboxEntry

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.outbox (
        owner text, id timeuuid, topic text, key text, value blob,
        PRIMARY KEY ((owner), id)) WITH CLUSTERING ORDER BY (id ASC)""",
    # The publisher's trace context (W3C names to values).
    "ALTER TABLE {ks}.outbox ADD headers map<text, text>",
)
STATEMENTS = {
    "append": (
        "INSERT INTO {ks}.outbox (owner, id, topic, key, value, headers) VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "oldest": "SELECT id, topic, key, value, headers FROM {ks}.outbox WHERE owner = ? LIMIT ?",
    "remove_through": "DELETE FROM {ks}.outbox WHERE owner = ? AND id <= ?",
}


class CassandraOutbox(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    def __init__(self, config: CassandraConfig, *, owner: str) -> None:
        super().__init__(config)
        self._owner = owner

    async def append(self, entry: OutboxEntry) -> None:
        values = (self._owner, entry.id, entry.topic, entry.key, entry.value, dict(entry.headers))
        await self.run("append", values)

    async def oldest(self, limit: int) -> list[OutboxEntry]:
        rows = await self.run("oldest", (self._owner, limit))
        return [
            OutboxEntry(
                r["id"], r["topic"], r["key"], r["value"], tuple((r["headers"] or {}).items())
            )
            for r in rows
        ]

    async def remove_through(self, entry_id: uuid.UUID) -> None:
        await self.run("remove_through", (self._owner, entry_id))

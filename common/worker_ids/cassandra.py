"""Worker id leases in Cassandra: a row per held id, written with a TTL by lightweight
transactions, so two processes never both get one id and a crashed holder's row expires.

The table is small (at most 1,024 rows) and only touched at start, every sixth of a lease
and at stop: the Paxos rounds cost nothing that matters.
"""

from __future__ import annotations

from common.cassandra import CassandraStore

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {ks}.worker_leases (
        worker_id int PRIMARY KEY, owner text)""",
)
STATEMENTS = {
    # A hint where to start: the claim's transaction decides.
    "held": "SELECT worker_id FROM {ks}.worker_leases",
    "claim": "INSERT INTO {ks}.worker_leases (worker_id, owner) VALUES (?, ?) "
    "IF NOT EXISTS USING TTL ?",
    "renew": "UPDATE {ks}.worker_leases USING TTL ? SET owner = ? WHERE worker_id = ? IF owner = ?",
    "release": "DELETE FROM {ks}.worker_leases WHERE worker_id = ? IF owner = ?",
}


class CassandraLeaseStore(CassandraStore):
    schema = SCHEMA
    statements = STATEMENTS

    async def held(self) -> set[int]:
        return {row["worker_id"] for row in await self.run("held")}

    async def claim(self, worker_id: int, owner: str, ttl_s: int) -> bool:
        return await self.applied("claim", (worker_id, owner, ttl_s))

    async def renew(self, worker_id: int, owner: str, ttl_s: int) -> bool:
        return await self.applied("renew", (ttl_s, owner, worker_id, owner))

    async def release(self, worker_id: int, owner: str) -> None:
        await self.applied("release", (worker_id, owner))

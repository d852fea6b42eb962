"""The Redis client of every production cache: short timeouts, no retries, a circuit breaker.

Everything Photoshare keeps in Redis can be rebuilt or bypassed (timelines are pulled from
Cassandra, caches fall through to their store, rate limits to in-process buckets), so a
command must fail fast rather than hold a request: a refused or timed-out command raises
`RedisUnavailable` at once, and after a few in a row the client's circuit opens and commands
are refused without touching the network until a probe finds Redis back.

The breaker is asked for every connection taken from the pool and told how each connect,
write and read went, so every command, pipeline and script of every store goes through it
without the stores knowing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.breaker import CircuitBreaker
from common.errors import Unavailable

CONNECT_TIMEOUT_S = 0.5
# Commands take well under a millisecond; the longest are fan-out's pipelines of a few
# thousand timeline writes.
COMMAND_TIMEOUT_S = 1.0


class RedisUnavailable(RedisConnectionError, Unavailable):
    """Redis cannot be reached or its circuit is open. Callers catch `Unavailable` (domain
    code knows no driver); redis-py sees a ConnectionError and drops the connection."""


# The breaker's overrides are mixed into plain and Sentinel-managed pools and connections;
# type checkers see them on the base classes whose methods they extend.
if TYPE_CHECKING:
    _Pool = aioredis.ConnectionPool
    _Connection = aioredis.Connection
else:
    _Pool = _Connection = object


class _GuardedPool(_Pool):
    """Refuses a command at once while the breaker is open: every command and pipeline
    takes its connection here, whether the pool has one open or must connect."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._breaker: CircuitBreaker = self.connection_kwargs["breaker"]

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        if not self._breaker.allows():
            raise RedisUnavailable("Redis is unavailable (circuit open)")
        # redis-py leaves this method unannotated.
        return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]


class _GuardedConnection(_Connection):
    """Tells its pool's breaker how each connect, write and read went."""

    def __init__(self, *args: Any, breaker: CircuitBreaker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._breaker = breaker

    async def connect(self) -> None:
        # A Sentinel-managed connection asks the Sentinels for the primary here, before it
        # connects: finding none is Redis being unavailable too.
        try:
            await super().connect()  # type: ignore[no-untyped-call]
        except RedisUnavailable:
            raise
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise self._failed(exc) from exc

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        try:
            await super().connect_check_health(check_health, retry_socket_connect)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise self._failed(exc) from exc

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        try:
            await super().send_packed_command(command, check_health)
        except RedisUnavailable:
            raise
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise self._failed(exc) from exc

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = await super().read_response(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise self._failed(exc) from exc
        except RedisError:
            # Redis answered, with an error of the command's own: it is up. (A restarted
            # Redis answers a script's first call with NOSCRIPT; that probe must close the
            # circuit, or the script can never be loaded again.)
            self._breaker.succeeded()
            raise
        self._breaker.succeeded()
        return response

    def _failed(self, exc: Exception) -> RedisUnavailable:
        self._breaker.failed()
        return RedisUnavailable(f"Redis is unavailable: {exc}")


class GuardedConnectionPool(_GuardedPool, aioredis.ConnectionPool):
    pass


class GuardedConnection(_GuardedConnection, aioredis.Connection):
    pass


class GuardedSentinelPool(_GuardedPool, SentinelConnectionPool):
    """Connects to whichever server the Sentinels name the primary now."""


class GuardedSentinelConnection(_GuardedConnection, SentinelManagedConnection):
    pass


def guarded_redis(
    url: str, *, name: str = "Redis", sentinels: Sequence[tuple[str, int]] = (), primary: str = ""
) -> aioredis.Redis:
    """A client whose commands fail fast with `RedisUnavailable` while Redis is down. With
    `sentinels`, it asks them for the current primary of the group named `primary` (at every
    new connection, and again once a failover demoted the one it used); `url` then gives only
    the database and password."""
    options: dict[str, Any] = {
        "breaker": CircuitBreaker(name),
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": COMMAND_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),  # the breaker decides when to try again, not redis-py
    }
    if not sentinels:
        pool = GuardedConnectionPool.from_url(url, connection_class=GuardedConnection, **options)
        return aioredis.Redis.from_pool(pool)
    parsed = parse_url(url)
    asking = {"socket_connect_timeout": CONNECT_TIMEOUT_S, "socket_timeout": COMMAND_TIMEOUT_S}
    sentinel = Sentinel(sentinels, sentinel_kwargs=asking)  # type: ignore[no-untyped-call]
    client: _SentinelRedis = sentinel.master_for(
        primary,
        redis_class=_SentinelRedis,
        connection_pool_class=GuardedSentinelPool,
        connection_class=GuardedSentinelConnection,
        db=parsed.get("db", 0),
        password=parsed.get("password"),
        **options,
    )
    client.sentinel_clients = tuple(sentinel.sentinels)
    return client


class _SentinelRedis(aioredis.Redis):
    """A client of the primary that also closes its connections to the Sentinels."""

    sentinel_clients: Sequence[aioredis.Redis] = ()

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for sentinel in self.sentinel_clients:
            await sentinel.aclose()

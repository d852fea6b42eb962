"""Abuse limits: token buckets per client address and per user, shared by every gateway
process through the bucket store (in-process embedded, Redis in production).

Policies (per minute, scaled by PHOTOSHARE_RATE_LIMIT_SCALE; 0 turns them off for load tests):
- `address`: what one client address may do before it is authenticated (sign-ups, calls with
  a missing or wrong token: token guessing);
- `user`: every call of an authenticated user;
- `upload`: new posts (each opens an upload slot) of one user;
- `sign-in-account`: password checks of one account (signing in by its username, or changing
  its password), whoever makes them;
- `sign-in-address`: sign-ins from one client address, whatever the accounts.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    per_minute: float  # the refill rate
    burst: int  # the bucket's size

    def scaled(self, scale: float) -> Policy:
        return Policy(self.name, self.per_minute * scale, max(1, round(self.burst * scale)))


ADDRESS = Policy("address", per_minute=100, burst=100)
USER = Policy("user", per_minute=600, burst=120)
UPLOAD = Policy("upload", per_minute=10, burst=10)
# An account's owner mistypes a few times; a guesser gets 5 tries a minute, 7,200 a day.
SIGN_IN_ACCOUNT = Policy("sign-in-account", per_minute=5, burst=10)
SIGN_IN_ADDRESS = Policy("sign-in-address", per_minute=20, burst=30)
BY_USER = (USER, UPLOAD)  # the policies whose buckets are keyed by user id


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after_s: float  # when refused: until one token is back
    reset_s: float  # until the bucket is full again


class BucketStore(Protocol):
    async def take(self, key: str, policy: Policy) -> Decision:
        """Takes one token from the bucket `key` if it has one."""
        ...

    async def forget(self, keys: Sequence[str]) -> None:
        """The buckets go (their user was erased); a new one starts full."""
        ...

    async def close(self) -> None: ...


class RateLimiter:
    """Example:
    limiter = RateLimiter(InMemoryBuckets(), scale=1.0)
    decision = await limiter.check(USER, str(user_id))
    """

    def __init__(self, buckets: BucketStore, *, scale: float) -> None:
        self._buckets = buckets
        self._scale = scale

    @property
    def enabled(self) -> bool:
        return self._scale > 0

    async def check(self, policy: Policy, who: str) -> tuple[Policy, Decision]:
        """The policy as applied (scaled) and whether `who` may go on."""
        scaled = policy.scaled(self._scale)
        if not self.enabled:
            return scaled, Decision(True, scaled.burst, 0.0, 0.0)
        return scaled, await self._buckets.take(f"{policy.name}:{who}", scaled)

    async def forget_user(self, user_id: int) -> None:
        """An erased user's buckets go with the account."""
        await self._buckets.forget([f"{policy.name}:{user_id}" for policy in BY_USER])


class InMemoryBuckets:
    """One gateway process's buckets (embedded default), at most `max_keys` of them."""

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._max_keys = max_keys
        self._clock = clock

    async def take(self, key: str, policy: Policy) -> Decision:
        now = self._clock()
        rate = policy.per_minute / 60
        tokens, at = self._buckets.pop(key, (float(policy.burst), now))
        tokens = min(float(policy.burst), tokens + (now - at) * rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        retry = 0.0 if allowed else (1 - tokens) / rate
        return Decision(allowed, int(tokens), retry, (policy.burst - tokens) / rate)

    async def forget(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._buckets.pop(key, None)

    async def close(self) -> None:
        self._buckets.clear()

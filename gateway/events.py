"""The events the gateway consumes (a tail: every gateway process sees every event, from
the moment it starts); it emits none.

- `SessionsRevoked` (users): the tokens of signed-out sessions leave the token cache.
- `UserErased` (users): the user's rate-limit buckets go with the account (in production
  they live in Redis, where any gateway process may delete them).
"""

from __future__ import annotations

from common.events.base import TOPIC_USERS, EventRecord, EventTail, keep_tailing
from common.events.codec import decode
from gateway.auth import TokenResolver
from gateway.limits import RateLimiter


class UsersHandler:
    def __init__(self, tokens: TokenResolver, limits: RateLimiter) -> None:
        self._tokens = tokens
        self._limits = limits

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        match event.WhichOneof("payload"):
            case "sessions_revoked":
                self._tokens.revoked(list(event.sessions_revoked.token_hashes))
            case "user_erased":
                await self._limits.forget_user(event.user_erased.user_id)


async def follow_users(log_tail: EventTail, tokens: TokenResolver, limits: RateLimiter) -> None:
    """Tails the users topic until cancelled. The token cache is used only while the tail
    runs: if it fails (the broker is down), the cache is dropped until it runs again."""
    await keep_tailing(
        log_tail,
        [TOPIC_USERS],
        UsersHandler(tokens, limits),
        ready=tokens.start_caching,
        stopped=tokens.stop_caching,
        what="the token cache (revocations)",
    )

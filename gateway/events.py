"""The events the gateway consumes (a tail: every gateway process sees every event, from
the moment it starts); it emits none.

- `SessionsRevoked` (users): the tokens of signed-out sessions leave the token cache.
"""

from __future__ import annotations

import asyncio
import logging

from common.events.base import TOPIC_USERS, EventRecord, EventTail
from common.events.codec import decode
from gateway.auth import TokenResolver

log = logging.getLogger(__name__)
RESTART_DELAY_S = 1.0


class RevocationHandler:
    def __init__(self, tokens: TokenResolver) -> None:
        self._tokens = tokens

    async def __call__(self, record: EventRecord) -> None:
        event = decode(record)
        if event.WhichOneof("payload") == "sessions_revoked":
            self._tokens.revoked(list(event.sessions_revoked.token_hashes))


async def follow_revocations(log_tail: EventTail, tokens: TokenResolver) -> None:
    """Tails the revocations until cancelled. The token cache is used only while the tail
    runs: if it fails (the broker is down), the cache is dropped until it runs again."""
    handler = RevocationHandler(tokens)
    while True:
        try:
            await log_tail.tail([TOPIC_USERS], handler, tokens.start_caching)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("following revocations stopped; tokens are not cached meanwhile")
        tokens.stop_caching()
        await asyncio.sleep(RESTART_DELAY_S)

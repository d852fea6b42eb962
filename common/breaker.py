"""A circuit breaker: stop calling a dependency that keeps failing, try it again now and then.

A dead cache or broker must cost a request nothing, not a connect attempt or a timeout: after
`failure_threshold` failures in a row the circuit opens and callers are refused at once (they
take their fallback). Every `retry_after_s` one caller is let through as a probe; its success
closes the circuit, its failure keeps it open. The state is per process and costs a few
attribute reads per call, so it sits on hot paths (every Redis command).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum

log = logging.getLogger(__name__)


class CircuitState(Enum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are refused until the next probe
    PROBING = "probing"  # one call is finding out whether the dependency is back


class CircuitBreaker:
    """Example:
    breaker = CircuitBreaker("redis")
    if not breaker.allows():
        return fallback()
    try:
        result = await call()
    except ConnectionError:
        breaker.failed()
        raise
    breaker.succeeded()
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 3,
        retry_after_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._threshold = failure_threshold
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._failures = 0
        self._state = CircuitState.CLOSED
        self._next_probe_at = 0.0

    @property
    def state(self) -> CircuitState:
        return self._state

    def allows(self) -> bool:
        """Whether a call may go out now; when open, one caller per `retry_after_s` probes."""
        if self._state is CircuitState.CLOSED:
            return True
        now = self._clock()
        if now < self._next_probe_at:
            return False
        # This caller probes; the others keep being refused until it reports (or, if it
        # never does, until the next probe is due).
        self._state = CircuitState.PROBING
        self._next_probe_at = now + self._retry_after_s
        return True

    def succeeded(self) -> None:
        if self._state is not CircuitState.CLOSED:
            log.warning("%s is back: circuit closed", self.name)
        self._state = CircuitState.CLOSED
        self._failures = 0

    def failed(self) -> None:
        self._failures += 1
        if self._state is CircuitState.CLOSED and self._failures < self._threshold:
            return
        if self._state is CircuitState.CLOSED:
            log.warning(
                "%s failed %d times in a row: circuit open, callers take their fallback",
                self.name,
                self._failures,
            )
        self._state = CircuitState.OPEN
        self._next_probe_at = self._clock() + self._retry_after_s

"""The celebrity threshold, moved by what fan-out costs.

Fan-out pushes a post to every follower of an author below the threshold; the posts of an
author above it are pulled at read time instead. A low threshold keeps fan-out cheap and
makes reads dearer (more authors to pull); a high one the reverse. So the fan-out worker
measures itself, in windows of `window_s`: the timeline writes it made per second, the share
of the time it spent pushing, and how late it delivered. Over its write budget, busy most of
the window or late, it lowers the threshold one step at once; only after several calm windows
in a row does it raise it one step (hysteresis: a worker near its budget does not swing). The
threshold never leaves its configured bounds.

An author crossing the threshold is moved by fan-out (feed_svc/fanout.py), which keeps their
followers' feeds gap-free either way; each author also has hysteresis of their own there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A window counts as calm below this share of the budget, and of the lag allowed.
CALM_SHARE = 0.5
# Pushing more than this share of a window means the worker is near what it can sustain,
# whatever the budget says.
MAX_BUSY_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class ThresholdPolicy:
    start: int = 10_000
    minimum: int = 1_000
    maximum: int = 100_000
    # Timeline writes per second this worker may spend on fan-out.
    write_budget: float = 100_000.0
    # Publish -> in every follower's timeline.
    max_lag_s: float = 1.0
    window_s: float = 10.0
    step: float = 2.0
    calm_windows: int = 3
    # A pulled author is pushed again only once below this share of the threshold.
    hysteresis: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.minimum <= self.start <= self.maximum:
            raise ValueError("the threshold bounds must satisfy 0 < minimum <= start <= maximum")

    def pushed_again_below(self, threshold: int) -> int:
        return max(1, int(threshold * self.hysteresis))

    @property
    def pull_candidates_from(self) -> int:
        """Every pulled author has at least this many followers: half of the lowest count at
        which fan-out still leaves them pulled. Reads ask the graph for followees from here
        (the margin covers unfollows under way while fan-out pushes an author again)."""
        return max(1, self.pushed_again_below(self.minimum) // 2)


class AdaptiveThreshold:
    """The current threshold of one fan-out worker, fed with what each fan-out cost.

    Example:
        threshold = AdaptiveThreshold(ThresholdPolicy(write_budget=150_000))
        if follower_count < threshold.now(): ... push ...
        threshold.observe(writes=delivered, busy_s=elapsed, lag_s=now - published_at)
    """

    def __init__(
        self, policy: ThresholdPolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy
        self.current = policy.start
        self._clock = clock
        self._window_start = clock()
        self._posts = 0
        self._writes = 0
        self._busy_s = 0.0
        self._lag_s = 0.0
        self._calm = 0

    def now(self) -> int:
        """The threshold for the post at hand, once the window that has ended (if any) has
        moved it."""
        now = self._clock()
        if now - self._window_start >= self.policy.window_s:
            self._close_window(now)
        return self.current

    def observe(self, *, writes: int, busy_s: float, lag_s: float) -> None:
        """One post's fan-out: `writes` timeline writes in `busy_s` seconds, done `lag_s`
        after it was published."""
        self._posts += 1
        self._writes += writes
        self._busy_s += busy_s
        self._lag_s = max(self._lag_s, lag_s)

    def _close_window(self, now: float) -> None:
        policy = self.policy
        elapsed = now - self._window_start
        rate = self._writes / elapsed
        busy_share = self._busy_s / elapsed
        over = (
            rate > policy.write_budget
            or busy_share > MAX_BUSY_SHARE
            or self._lag_s > policy.max_lag_s
        )
        calm = rate < policy.write_budget * CALM_SHARE and self._lag_s < (
            policy.max_lag_s * CALM_SHARE
        )
        before = self.current
        if over:
            self._calm = 0
            self.current = max(policy.minimum, int(self.current / policy.step))
        elif calm:
            # A long quiet spell is as many calm windows as it lasted.
            self._calm += int(elapsed // policy.window_s)
            if self._calm >= policy.calm_windows:
                self._calm = 0
                self.current = min(policy.maximum, int(self.current * policy.step))
        else:
            self._calm = 0
        if self._posts:
            # One line a window, read by operators and by `make bench` (tests/bench/scenarios.py).
            log.info(
                "fan-out window: %d posts, %d timeline writes in %.1f s (%.0f/s, budget %.0f), "
                "pushing %.0f%% of the time, %.2f s late at most; celebrity threshold %d -> %d",
                self._posts,
                self._writes,
                elapsed,
                rate,
                policy.write_budget,
                busy_share * 100,
                self._lag_s,
                before,
                self.current,
            )
        self._window_start = now
        self._posts = 0
        self._writes = 0
        self._busy_s = 0.0
        self._lag_s = 0.0

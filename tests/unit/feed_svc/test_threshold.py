"""The adaptive celebrity threshold: down at once when fan-out is over budget, late or busy;
up one step only after calm windows in a row; never out of its bounds."""

from __future__ import annotations

import pytest

from feed_svc.threshold import AdaptiveThreshold, ThresholdPolicy

POLICY = ThresholdPolicy(
    start=1_000, minimum=250, maximum=4_000, write_budget=10_000, window_s=10, calm_windows=3
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def window(
    threshold: AdaptiveThreshold,
    clock: Clock,
    *,
    writes: int,
    busy_s: float = 0.1,
    lag_s: float = 0.05,
) -> int:
    """One window of fan-out that made `writes` timeline writes; the threshold after it."""
    threshold.observe(writes=writes, busy_s=busy_s, lag_s=lag_s)
    clock.now += POLICY.window_s
    return threshold.now()  # the next window's first post closes it


def test_over_the_write_budget_it_steps_down_at_once_and_stops_at_the_minimum() -> None:
    clock = Clock()
    threshold = AdaptiveThreshold(POLICY, clock)
    over = POLICY.write_budget * POLICY.window_s * 1.5
    assert [window(threshold, clock, writes=int(over)) for _ in range(4)] == [500, 250, 250, 250]


@pytest.mark.parametrize(
    "strain", [{"lag_s": 2.0}, {"busy_s": POLICY.window_s * 0.9}], ids=["late", "busy"]
)
def test_late_or_busy_fan_out_steps_down_within_the_budget(strain: dict[str, float]) -> None:
    clock = Clock()
    threshold = AdaptiveThreshold(POLICY, clock)
    assert window(threshold, clock, writes=100, **strain) == 500


def test_it_steps_up_only_after_calm_windows_in_a_row_and_stops_at_the_maximum() -> None:
    clock = Clock()
    threshold = AdaptiveThreshold(POLICY, clock)
    calm = 100
    busy_but_within = int(POLICY.write_budget * POLICY.window_s * 0.8)
    seen = [
        window(threshold, clock, writes=calm),
        window(threshold, clock, writes=calm),
        window(threshold, clock, writes=busy_but_within),  # neither: the count starts over
        window(threshold, clock, writes=calm),
        window(threshold, clock, writes=calm),
        window(threshold, clock, writes=calm),  # third calm one in a row
    ]
    assert seen == [1_000] * 5 + [2_000]
    for _ in range(3 * POLICY.calm_windows):
        window(threshold, clock, writes=calm)
    assert threshold.current == POLICY.maximum


def test_a_quiet_spell_counts_as_the_windows_it_lasted() -> None:
    clock = Clock()
    threshold = AdaptiveThreshold(POLICY, clock)
    threshold.observe(writes=10, busy_s=0.01, lag_s=0.01)
    clock.now += POLICY.window_s * POLICY.calm_windows
    assert threshold.now() == 2_000


def test_the_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="minimum <= start <= maximum"):
        ThresholdPolicy(start=100, minimum=200, maximum=300)


def test_pulled_authors_are_looked_for_well_below_the_lowest_threshold() -> None:
    assert POLICY.pushed_again_below(1_000) == 800
    assert POLICY.pull_candidates_from == 100  # half of 80% of the minimum
    assert ThresholdPolicy(start=1, minimum=1, maximum=1).pull_candidates_from == 1

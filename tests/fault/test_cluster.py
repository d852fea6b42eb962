"""The fault test in `make test`: one node of each kind killed -9 under load, nothing that was
acknowledged lost, the feed answering throughout, every node back (tests/fault/run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault.run import fault_test

pytestmark = [pytest.mark.e2e, pytest.mark.production, pytest.mark.cluster]


def test_no_acknowledged_write_is_lost_when_a_node_of_each_kind_is_killed(
    tmp_path: Path,
) -> None:
    report = fault_test(tmp_path)
    print(report.text())  # the figures, in the test's output
    assert report.lost_count == 0, report.text()
    assert set(report.rejoin_s) >= {"cassandra-3", "kafka-3", "seaweed-volume-3"}
    assert any(node.startswith("redis-") for node in report.rejoin_s)
    for phase in report.phases:
        # The feed kept answering: most reads in every phase, a fault's included.
        assert phase["feed_ok"] >= 0.9 * (phase["feed_ok"] + phase["feed_failed"]), phase
        assert phase["feed_ok"] > 0, phase

"""The embedded counts keep applied event ids only as long as a redelivery could come."""

from __future__ import annotations

from pathlib import Path

from post_svc.storage.sqlite_stats import KEEP_APPLIED_MS, PRUNE_EVERY, SqliteStatsStore


async def test_old_event_ids_are_pruned_and_counts_stay(tmp_path: Path) -> None:
    now = [1_000]
    store = SqliteStatsStore(tmp_path / "stats.db", clock=lambda: now[0])
    await store.open()
    try:
        await store.apply(1, "like:old", likes=1)
        now[0] += KEEP_APPLIED_MS + 1
        for i in range(PRUNE_EVERY - 1):
            await store.apply(2, f"like:{i}", likes=1)
        kept = await store._db.fetchone("SELECT COUNT(*) AS n FROM applied_events")
        assert kept is not None
        assert kept["n"] == PRUNE_EVERY - 1  # the old id went on the PRUNE_EVERY-th apply
        assert (await store.apply(2, "like:0", likes=1)).first_time is False  # recent: kept
        counts = await store.get_many([1, 2])
        assert (counts[1].likes, counts[2].likes) == (1, PRUNE_EVERY - 1)
    finally:
        await store.close()

"""Lag in seconds from the watermark tables: interpolation, bounded extrapolation, bounded memory."""

from __future__ import annotations

import struct

from aiokafka.record.default_records import DefaultRecordBatchBuilder

from exporter.collectors.kafka.evaluate.evaluation import evaluate
from exporter.collectors.kafka.evaluate.lag_time import (
    WatermarkLine,
    produce_rate,
    record_lag_seconds,
)
from exporter.collectors.kafka.history.history import History
from exporter.collectors.kafka.history.watermarks import Point, WatermarkTable
from exporter.collectors.kafka.lag_status_config import TimeLagConfig
from exporter.collectors.kafka.read.record_times import first_timestamp
from exporter.collectors.kafka.state import ClusterState, GroupInfo, PartitionInfo


def estimate_lag_seconds(
    points: list[Point], committed: int, now: float, window: float
) -> float | None:
    """One lookup on a freshly prepared line (the collector prepares one per partition)."""
    return WatermarkLine(points, window).lag_seconds(committed, now)


def _watch(table: WatermarkTable, hwm_at, start: float, end: float, step: float) -> None:
    """Observe `hwm_at(t)` every `step` seconds from `start` to `end` inclusive."""
    t = start
    while t <= end + 1e-9:
        table.observe(hwm_at(t), t)
        t += step


def test_steady_production_interpolates_exactly() -> None:
    table = WatermarkTable(window=60)
    _watch(table, lambda t: int(10 * t), 0, 120, 1.0)  # 10 records/s, observed every second
    # Record 555 was appended when the high watermark reached 556, at t = 55.6.
    assert estimate_lag_seconds(table.points(), 555, now=120, window=60) == 120 - 55.6
    assert abs(estimate_lag_seconds(table.points(), 1100, now=120, window=60) - 9.9) < 1e-9


def test_caught_up_is_zero_and_one_point_is_unknown() -> None:
    table = WatermarkTable(window=60)
    table.observe(100, 0.0)
    assert estimate_lag_seconds(table.points(), 100, now=0, window=60) == 0.0
    assert estimate_lag_seconds(table.points(), 99, now=0, window=60) is None
    assert estimate_lag_seconds([], 5, now=0, window=60) is None


def test_flat_run_then_jump_uses_the_last_time_before_the_jump() -> None:
    points = [Point(100, 0.0), Point(100, 50.0), Point(150, 60.0)]
    # Record 100 arrived between t=50 (hwm still 100) and t=60 (hwm 150): 1/50 of the way.
    assert estimate_lag_seconds(points, 100, now=60, window=60) == 60 - 50.2


def test_recent_lag_resolves_to_one_refresh_whatever_the_window() -> None:
    """Bursty production, refresh every 30 s, 15-minute window: the last observations are kept as
    they are, so a burst is placed between the two refreshes around it."""
    table = WatermarkTable(window=900)
    _watch(table, lambda t: 0 if t < 1000 else (100 if t < 1490 else 200), 0, 1560, 30.0)
    # Record 150 is part of the burst that arrived between the refreshes at t=1470 and t=1500.
    seconds = estimate_lag_seconds(table.points(), 150, now=1560, window=900)
    assert seconds is not None and 60 <= seconds <= 90


def test_method_timestamp_uses_the_record_and_falls_back_to_the_estimate() -> None:
    history = History(time_lag_window=60, status_window=3)
    for t, hwm in ((0.0, 0), (10.0, 10)):
        state = ClusterState(
            brokers=(),
            topics={"t": {0: PartitionInfo(0, newest=hwm), 1: PartitionInfo(0, newest=hwm)}},
            groups={"g": GroupInfo(1, offsets={("t", 0): 0, ("t", 1): 0})},
        )
        history.update(state, t, {("t", 0, 0): 3.5} if t else None)
    result = evaluate(history, state, 10.0, TimeLagConfig(method="timestamp"))
    # Partition 0 from its record (written at 3.5); partition 1 has none: estimated (hwm 0 -> 10
    # over 10 s: record 0 appended at t=1).
    assert result.lag_seconds == {("g", "t", 0): 6.5, ("g", "t", 1): 9.0}


def test_idle_topic_extrapolation_is_bounded_by_the_watch_time() -> None:
    """Idle topic, group behind everything seen: no rate; the anchor would say infinity/years."""
    table = WatermarkTable(window=900)
    _watch(table, lambda t: 500, 0, 3600, 30.0)  # high watermark 500 for an hour
    seconds = estimate_lag_seconds(table.points(), 400, now=3600, window=900)
    assert seconds is not None
    assert 3600 <= seconds <= 2 * 3600  # at least the watch time, never more than twice it
    _watch(table, lambda t: 500, 3630, 7200, 30.0)
    later = estimate_lag_seconds(table.points(), 400, now=7200, window=900)
    assert later is not None and seconds < later <= 2 * 7200  # grows while the group is stuck


def test_idle_topic_after_activity_seen_is_exact() -> None:
    table = WatermarkTable(window=900)
    _watch(table, lambda t: min(int(10 * t), 1000), 0, 7200, 10.0)  # 1000 records, then idle
    seconds = estimate_lag_seconds(table.points(), 499, now=7200, window=900)
    assert seconds is not None and abs(seconds - (7200 - 50.0)) <= 10.0


def test_backfill_inside_the_history_is_located() -> None:
    """A backfill 20 minutes ago, before the 15-minute window: still located from coarse history."""

    def hwm(t: float) -> int:
        return int(t) + (100_000 if t >= 600 else 0)  # 1 record/s plus 100k at t=600

    table = WatermarkTable(window=900)
    _watch(table, hwm, 0, 1800, 30.0)
    truth = 1800 - 600  # record 50,000 is part of the backfill at t=600
    seconds = estimate_lag_seconds(table.points(), 50_000, now=1800, window=900)
    assert seconds is not None
    naive = (hwm(900) - 50_000) / 1.0 + 900  # unbounded extrapolation with the recent rate
    assert naive > 50_000
    assert abs(seconds - truth) <= 120, (seconds, truth)  # within the local resolution


def test_backfill_before_the_exporter_started_is_bounded() -> None:
    """The group re-reads a backfill older than anything seen; the rate is 1/s: the anchor's way
    reports 100,000 s; the bound keeps it within [watch time, 2 x watch time]."""
    table = WatermarkTable(window=900)
    _watch(table, lambda t: 100_000 + int(t), 0, 1800, 30.0)
    seconds = estimate_lag_seconds(table.points(), 10, now=1800, window=900)
    assert seconds is not None and 1800 <= seconds <= 3600
    assert produce_rate(table.points(), 900) == 1.0


def test_table_resets_when_the_topic_is_recreated() -> None:
    table = WatermarkTable(window=60)
    _watch(table, lambda t: 1000 + int(t), 0, 100, 1.0)
    table.observe(3, 101.0)
    assert table.points() == [Point(3, 101.0)]


def test_memory_bounded_over_thousands_of_refreshes() -> None:
    """3,000 refreshes of 100 partitions and 2 groups: every table stays within its bound."""
    topics = {"a": 60, "b": 40}
    history = History(time_lag_window=60, status_window=10)
    sizes = []
    for refresh in range(3_000):
        now = 1_000_000.0 + refresh
        state = ClusterState(
            brokers=(),
            topics={
                t: {p: PartitionInfo(leader=0, newest=refresh * (p + 1)) for p in range(n)}
                for t, n in topics.items()
            },
            groups={
                g: GroupInfo(
                    members=1,
                    offsets={(t, p): refresh * p for t, n in topics.items() for p in range(n)},
                )
                for g in ("g1", "g2")
            },
        )
        history.update(state, now, {("a", 0, refresh * 0): now})
        if refresh in (1_000, 2_999):
            sizes.append(sum(len(t) for t in history.watermarks.values()))
    assert len(history.watermarks) == 100
    assert all(len(t) <= WatermarkTable.MAX_POINTS for t in history.watermarks.values())
    assert all(len(history.commits.observations(k)) == 10 for k in history.commits)
    assert len(history.commits) == 200
    assert len(history.record_times) == 1
    assert sizes[1] <= 100 * WatermarkTable.MAX_POINTS
    # Old history is thinned, not lost: the first observation is still the anchor.
    assert history.watermarks[("a", 1)].points()[0] == Point(0, 1_000_000.0)


def test_tables_of_vanished_topics_and_groups_are_dropped() -> None:
    history = History(time_lag_window=60, status_window=3)
    both = ClusterState(
        brokers=(),
        topics={"a": {0: PartitionInfo(0, newest=5)}, "b": {0: PartitionInfo(0, newest=7)}},
        groups={"g": GroupInfo(1, offsets={("a", 0): 1, ("b", 0): 2}), "h": GroupInfo(0)},
    )
    history.update(both, 1.0)
    assert set(history.watermarks) == {("a", 0), ("b", 0)}
    assert set(history.commits) == {("g", "a", 0), ("g", "b", 0)}
    only_a = ClusterState(
        brokers=(),
        topics={"a": {0: PartitionInfo(0, newest=None)}},
        groups={"h": GroupInfo(0, offsets={("a", 0): 1})},
    )
    history.update(only_a, 2.0)
    assert set(history.watermarks) == {("a", 0)}  # kept although its leader did not answer
    assert set(history.commits) == set()  # g is gone; h has no known high watermark yet
    history.update(ClusterState((), {"a": {0: PartitionInfo(0, newest=5)}}, only_a.groups), 3.0)
    assert set(history.commits) == {("h", "a", 0)}
    history.update(only_a, 4.0)  # the leader fails again: h's window stays, not observed
    assert history.commits.observations(("h", "a", 0)) == ((1, 4, 3.0),)
    result = evaluate(history, only_a, 4.0, TimeLagConfig())
    assert result.lag_seconds == {} and result.statuses == {}


def _batch(base_offset: int, timestamps_ms: list[int]) -> bytes:
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 20)
    for i, ts in enumerate(timestamps_ms):
        builder.append(i, ts, None, b"v", [])
    data = bytearray(builder.build())
    data[0:8] = struct.pack(">q", base_offset)
    return bytes(data)


def test_record_timestamp_is_the_first_record_at_or_after_the_offset() -> None:
    records = _batch(3, [10_000, 11_000, 12_000]) + _batch(6, [20_000])
    assert first_timestamp(records, 4) == 11.0  # inside the batch: the exact record
    assert first_timestamp(records, 0) == 10.0  # compacted away: the next one
    assert first_timestamp(records, 6) == 20.0
    assert first_timestamp(records, 7) is None
    assert first_timestamp(b"", 0) is None
    assert record_lag_seconds(11.0, now=15.5) == 4.5
    assert record_lag_seconds(20.0, now=15.0) == 0.0

"""`auto`: which records are read (budget, oldest first, cache), how Fetch answers are settled,
and how many lag-seconds values are still estimates."""

from __future__ import annotations

from aiokafka.protocol.api import Request, Response

from exporter.collectors.kafka.evaluate.evaluation import evaluate
from exporter.collectors.kafka.history.history import History
from exporter.collectors.kafka.lag_status_config import TimeLagConfig
from exporter.collectors.kafka.read import record_times
from exporter.collectors.kafka.read.record_reads import RecordReads
from exporter.collectors.kafka.read.record_times import (
    NOTHING_PENDING,
    PARTITIONS_PER_FETCH,
    ReadOutcome,
    RecordWanted,
)
from exporter.collectors.kafka.state import ClusterState, GroupInfo, PartitionInfo


async def _unused_send(node: int, request: Request) -> Response:
    raise AssertionError("plan() sends nothing")


def _state(hwm: dict[int, int], offsets: dict[int, int], oldest: int = 0) -> ClusterState:
    return ClusterState(
        brokers=(),
        topics={"t": {p: PartitionInfo(0, newest=h, oldest=oldest) for p, h in hwm.items()}},
        groups={"g": GroupInfo(1, offsets={("t", p): o for p, o in offsets.items()})},
    )


def test_auto_reads_only_what_the_history_cannot_place_within_the_budget() -> None:
    history = History(time_lag_window=60, status_window=3)
    reads = RecordReads("c", _unused_send, 4, per_refresh=2)
    # Nothing watched yet: every lagging partition wants its record; two per refresh.
    first = _state({0: 100, 1: 100, 2: 100, 3: 100}, {0: 10, 1: 20, 2: 100, 3: 30})
    planned = reads.plan(first, history, "auto")
    assert len(planned) == 2 and {w.partition for w in planned} <= {0, 1, 3}
    # Largest lag first when nothing is known about time.
    assert [w.partition for w in planned] == [0, 1]
    history.update(first, 0.0, {("t", 0, 10): -50.0, ("t", 1, 20): -40.0})
    # Known records are not read again; partition 3 is still before the history; a group that
    # moved to an offset inside the watched history (>= the first high watermark seen) is
    # interpolated, not read.
    second = _state({0: 110, 1: 110, 2: 110, 3: 110}, {0: 10, 1: 105, 2: 110, 3: 30})
    assert [(w.partition, w.offset) for w in reads.plan(second, history, "auto")] == [(3, 30)]
    # With `timestamp` the one inside the history is read too.
    planned = reads.plan(second, history, "timestamp")
    assert sorted(w.partition for w in planned) == [1, 3]


def test_the_budget_takes_the_largest_lags_first_and_ties_in_reading_order() -> None:
    """Ranking picks `per_refresh` of many candidates without sorting them all: the pick must be
    the head of the full, stable ranking (many equal lags, one record wanted by two groups)."""
    hwm = {p: 1000 for p in range(30)}
    groups = {
        "a": {p: 1000 - (p % 4) * 10 for p in range(30)},  # lags 0, 10, 20, 30 repeating
        "b": {p: 1000 - (p % 3) * 20 for p in range(30)},  # lags 0, 20, 40
        "c": {p: 1000 - (p % 4) * 10 for p in range(0, 30, 2)},  # a's records again
    }
    state = ClusterState(
        brokers=(),
        topics={"t": {p: PartitionInfo(0, newest=h) for p, h in hwm.items()}},
        groups={
            g: GroupInfo(1, offsets={("t", p): o for p, o in o_.items()})
            for g, o_ in groups.items()
        },
    )
    in_order: dict[tuple[int, int], int] = {}  # (partition, offset) -> lag, first seen first
    for offsets in groups.values():
        for p, o in offsets.items():
            if o < hwm[p]:
                in_order.setdefault((p, o), hwm[p] - o)
    ranked = sorted(in_order, key=lambda k: -in_order[k])
    for budget in (1, 7, 16, 40, 100):
        reads = RecordReads("c", _unused_send, 4, per_refresh=budget)
        planned = reads.plan(state, History(time_lag_window=60, status_window=3), "auto")
        assert [(w.partition, w.offset) for w in planned] == ranked[:budget]


def test_pending_counts_estimates_waiting_for_a_read() -> None:
    history = History(time_lag_window=60, status_window=3)
    for t, hwm in ((0.0, 100), (10.0, 110)):
        state = _state({0: hwm, 1: hwm, 2: hwm}, {0: 10, 1: 105, 2: 20})
        history.update(state, t, {("t", 0, 10): -5.0} if t else None)
    result = evaluate(history, state, 10.0, TimeLagConfig(method="auto"), unreadable={("t", 2)})
    assert result.lag_seconds[("g", "t", 0)] == 15.0  # exact, from the record
    assert result.lag_seconds[("g", "t", 1)] == 4.0  # interpolated: hwm reached 106 at t=6
    assert (result.pending, result.unreadable) == (0, 1)  # partition 2 may not be read
    result = evaluate(history, state, 10.0, TimeLagConfig(method="auto"))
    assert (result.pending, result.unreadable) == (1, 0)
    result = evaluate(history, state, 10.0, TimeLagConfig(method="estimate"))
    assert result.lag_seconds[("g", "t", 0)] != 15.0 and result.pending == 0


def test_retention_capped_offsets_are_flagged() -> None:
    history = History(time_lag_window=60, status_window=3)
    state = _state({0: 100}, {0: 10}, oldest=40)
    history.update(state, 0.0, {("t", 0, 10): -5.0}, {("t", 0, 10): 40})
    result = evaluate(history, state, 0.0, TimeLagConfig(method="auto"))
    assert result.capped == {("g", "t", 0)} and result.lag_seconds[("g", "t", 0)] == 5.0
    # The log start moved past the record read: it is read again.
    moved = _state({0: 100}, {0: 10}, oldest=60)
    reads = RecordReads("c", _unused_send, 4, per_refresh=10)
    assert [w.offset for w in reads.plan(moved, history, "auto")] == [60]


def test_fetches_name_a_partition_once_and_hold_at_most_100() -> None:
    many = [RecordWanted("t", p, 0, 1) for p in range(PARTITIONS_PER_FETCH + 5)]
    same = [RecordWanted("u", 0, offset, 1) for offset in (3, 7)]
    chunks = record_times._chunks([*many, *same])
    assert all(len(c) <= PARTITIONS_PER_FETCH for c in chunks)
    for chunk in chunks:
        assert len({(w.topic, w.partition) for w in chunk}) == len(chunk)
    assert sum(len(c) for c in chunks) == len(many) + 2


def test_fetch_answers_settle_to_a_time_a_retry_or_a_refusal() -> None:
    item = RecordWanted("t", 0, 5, 1)
    answer = record_times._Answer
    outcome = ReadOutcome()
    assert record_times._settle(item, 5, None, answer(29, None, 10, 0), outcome) is None
    assert outcome.denied == {item}
    # Below the log start offset: read again from it, flagged capped there.
    assert record_times._settle(item, 5, None, answer(1, None, 10, 8), outcome) == (8, 8)
    # Only a transaction marker up to the high watermark: nothing to wait for.
    marker_only = answer(0, b"", 6, 0)
    assert record_times._settle(item, 5, None, marker_only, outcome) == (5, None)
    assert item not in outcome.found
    outcome.found.clear()
    assert float("inf") == NOTHING_PENDING

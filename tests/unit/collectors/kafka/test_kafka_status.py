"""Burrow-style status rules, their order, group aggregation and the exposed series."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from exporter.collectors.kafka.evaluate.consumer_status import ConsumerStatus as Status
from exporter.collectors.kafka.evaluate.consumer_status import group_status, window_status
from exporter.collectors.kafka.evaluate.evaluation import Evaluation, evaluate
from exporter.collectors.kafka.history.commit_windows import CommitWindows, Observation
from exporter.collectors.kafka.history.history import History
from exporter.collectors.kafka.lag_status_config import TimeLagConfig
from exporter.collectors.kafka.metrics.evaluation_metrics import to_metrics
from exporter.collectors.kafka.state import ClusterState, GroupInfo, PartitionInfo


def partition_status(
    window: Sequence[Observation], size: int, members: int | None, now: float
) -> Status:
    """The rules as stated (see exporter/collectors/kafka/evaluate/consumer_status.py) over a window of
    observations, oldest first, of at most `size`: the reference `window_status` must equal."""
    if len(window) < size or not window:
        return Status.OK
    moved = rewound = lag_decreased = False
    previous = window[0]
    if previous.lag == 0:
        return Status.OK
    for current in window[1:]:
        if current.lag == 0:
            return Status.OK  # rule 1: any zero lag in the window
        moved = moved or current.offset != previous.offset
        rewound = rewound or current.offset < previous.offset
        lag_decreased = lag_decreased or current.lag < previous.lag
        previous = current
    if rewound:
        return Status.ERR
    first_commit, last_commit = window[0].since, window[-1].since
    if now - last_commit > last_commit - first_commit and (members is None or members == 0):
        return Status.STOP
    if not moved:
        return Status.STALL
    if not lag_decreased:
        return Status.WARN
    return Status.OK


def _windows(rows: list[tuple[int, int]], size: int | None = None) -> tuple[CommitWindows, int]:
    """(offset, lag) per refresh, one second apart, through a real CommitWindows; its slot."""
    windows = CommitWindows(size or len(rows))
    slot = -1
    for t, (offset, lag) in enumerate(rows):
        slot = windows.observe("g", ("t", 0), offset, lag, float(t))
    return windows, slot


def _window(*rows: tuple[int, int]) -> tuple[Observation, ...]:
    return _windows(list(rows))[0].observations(("g", "t", 0))


def _status(rows: list[tuple[int, int]], members: int | None = 1, now: float | None = None):
    """The status by the reference rules over the window, checked equal to the fast path."""
    windows, slot = _windows(rows)
    at = float(len(rows) - 1) if now is None else now
    reference = partition_status(windows.observations(("g", "t", 0)), len(rows), members, at)
    assert window_status(windows.flags(slot), members, at) is reference
    return reference


def test_rule_1_zero_lag_now_or_anywhere_in_the_window_is_ok() -> None:
    assert _status([(5, 3), (5, 3), (5, 0)]) is Status.OK
    assert _status([(5, 0), (4, 9), (4, 9)], members=0) is Status.OK  # even with a rewind


def test_rule_2_rewind_is_err_before_stop_and_stall() -> None:
    assert _status([(10, 2), (8, 4), (8, 4)], members=0, now=100) is Status.ERR


def test_rule_3_stop_needs_no_members_and_no_commit_for_longer_than_the_span() -> None:
    # Offset moved at t=0 and t=1, then nothing: at t=3 the silence (2 s) exceeds the span (1 s).
    rows = [(1, 5), (2, 5), (2, 6), (2, 7)]
    assert _status(rows, members=0) is Status.STOP
    assert _status(rows, members=None) is Status.STOP  # membership unknown: the time rule alone
    # The same window with members present is not STOP; its offsets moved, so not STALL; the lag
    # never decreased: WARN.
    assert _status(rows, members=2) is Status.WARN
    # Silence shorter than the span: not STOP.
    assert _status([(1, 5), (2, 5), (3, 6), (3, 7)], members=0) is Status.WARN


def test_rule_4_stall_offset_stuck_with_members() -> None:
    assert _status([(7, 1), (7, 2), (7, 3)], members=3) is Status.STALL
    assert _status([(7, 1), (7, 2), (7, 3)], members=0) is Status.STOP


def test_rule_5_warn_when_offsets_move_but_lag_never_decreases() -> None:
    assert _status([(1, 5), (2, 6), (3, 6), (4, 9)]) is Status.WARN
    assert _status([(1, 5), (2, 6), (3, 4), (4, 9)]) is Status.OK  # it decreased once


def test_partial_window_is_ok_and_counts_as_incomplete() -> None:
    windows, slot = _windows([(1, 5), (1, 5)], size=3)
    assert window_status(windows.flags(slot), 1, 2.0) is Status.OK
    assert not windows.flags(slot).full
    verdict = group_status({("t", 0): Status.STALL, ("t", 1): Status.OK}, full=1)
    assert verdict.status is Status.STALL
    assert verdict.complete == 0.5


def test_group_takes_the_worst_partition_in_burrows_order() -> None:
    stall = _status([(7, 1), (7, 2), (7, 3)])
    warn = _status([(1, 5), (2, 6), (3, 7)])
    rewind = _status([(9, 1), (8, 2), (8, 3)])
    assert group_status({("a", 0): warn, ("a", 1): stall}, 2).status is Status.STALL
    verdict = group_status({("a", 0): stall, ("a", 1): rewind}, 2)
    assert verdict.status is Status.ERR
    assert group_status({}, 0).status is Status.OK


def test_bit_registers_agree_with_the_rules_on_sliding_windows() -> None:
    """Random offset/lag walks through a window of 4: after every observation, the registers
    give the reference rules' verdict over the same window (all five statuses occur)."""
    rng = random.Random(7)
    seen = set()
    for walk in range(300):
        windows = CommitWindows(4)
        offset, lag = 100, rng.randint(0, 3)
        for t in range(12):
            step = rng.choice((0, 0, 1, 2, -1)) if walk % 3 else rng.choice((0, 1))
            offset, lag = offset + step, max(lag + rng.choice((-1, 0, 1, 2)), 0)
            if rng.random() < 0.3:
                t += 5  # a gap between refreshes, so STOP can be told from the times
            slot = windows.observe("g", ("t", 0), offset, lag, float(t * 10 + walk % 10))
            members = rng.choice((None, 0, 1))
            now = float(t * 10 + walk % 10) + rng.choice((0, 40))
            window = windows.observations(("g", "t", 0))
            expected = partition_status(window, 4, members, now)
            assert window_status(windows.flags(slot), members, now) is expected, window
            seen.add(expected)
    assert seen == set(Status)


@pytest.mark.parametrize("size", [63, 64, 65, 130])
def test_wide_windows_keep_every_bit(size: int) -> None:
    """Registers of up to 64 bits live in an unsigned 64-bit array, wider ones in Python ints:
    at both sides of the edge a walk longer than the window gives the reference verdict after
    every observation (a register that lost its top bit, or refused it, would not)."""
    rng = random.Random(size)
    for walk in range(6):
        windows = CommitWindows(size)
        offset, lag = 100, 1
        for t in range(size + 40):
            offset += rng.choice((0, 0, 0, 1, -1)) if walk % 2 else rng.choice((0, 1))
            # lag 0 only in the first observations, so that it leaves the window
            lag = 0 if t < 2 and walk % 3 == 0 else lag + rng.choice((0, 1, 2))
            slot = windows.observe("g", ("t", 0), offset, lag, float(t))
            window = windows.observations(("g", "t", 0))
            expected = partition_status(window, size, 1, float(t))
            assert window_status(windows.flags(slot), 1, float(t)) is expected, (t, walk)


def test_commit_time_is_when_the_offset_was_first_seen() -> None:
    window = _window((1, 0), (1, 0), (2, 0), (2, 0))
    assert [o.since for o in window] == [0.0, 0.0, 2.0, 2.0]


def test_a_group_observation_gives_each_slots_newest_offset() -> None:
    windows = CommitWindows(3)
    latest: list[int] = []
    first = windows.observe_group("g", [(("t", 0), 5, 1), (("t", 1), 7, 0)], 10.0, latest)
    assert latest == [5, 7]
    latest.clear()
    again = windows.observe_group("g", [(("t", 0), 6, 0), (("t", 1), 9, 0)], 10.0, latest)
    assert again == first and latest == [5, 7]  # not newer than the last: the kept offsets
    latest.clear()
    windows.observe_group("g", [(("t", 0), 6, 0), (("t", 2), 1, 0)], 11.0, latest)
    assert latest == [6, 1]
    assert [o.offset for o in windows.observations(("g", "t", 0))] == [5, 6]


def _state(hwm: int, committed: int, members: int, state: str = "Stable") -> ClusterState:
    return ClusterState(
        brokers=(),
        topics={"t": {0: PartitionInfo(0, newest=hwm)}},
        groups={"g": GroupInfo(members=members, state=state, offsets={("t", 0): committed})},
    )


def test_evaluation_and_series_through_refreshes() -> None:
    """OK while caught up, STALL when paused with members, STOP without them, OK again."""
    history = History(time_lag_window=60, status_window=3)
    time_lag = TimeLagConfig()
    timeline = [
        (10, 10, 1, Status.OK),  # caught up
        (20, 10, 1, Status.OK),  # lag, window not full; zero lag still in it
        (30, 10, 1, Status.OK),
        (40, 10, 1, Status.STALL),  # window (10,10,10) lag (20,30,40), members: STALL
        (50, 10, 0, Status.STOP),  # consumers gone
        (50, 50, 0, Status.OK),  # caught up again
    ]
    result: Evaluation | None = None
    for t, (hwm, committed, members, expected) in enumerate(timeline):
        state = _state(hwm, committed, members)
        history.update(state, float(t) * 10)
        result = evaluate(history, state, float(t) * 10, time_lag)
        assert result.statuses["g"].status is expected, (t, result.statuses)
    assert result is not None
    families = {f.name: f for f in to_metrics(_state(50, 50, 0), result, "c", {"env": "x"}, True)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    ok = ("kafka_consumergroup_status", (("cluster", "c"), ("consumergroup", "g"), ("env", "x")))
    assert samples[(ok[0], tuple(sorted((*ok[1], ("status", "OK")))))] == 1
    assert samples[(ok[0], tuple(sorted((*ok[1], ("status", "STOP")))))] == 0
    assert len([k for k in samples if k[0] == "kafka_consumergroup_status"]) == 5
    assert len([k for k in samples if k[0] == "kafka_consumergroup_partition_status"]) == 5
    assert len([k for k in samples if k[0] == "kafka_consumergroup_state"]) == 5
    assert [v for k, v in samples.items() if ("state", "Stable") in k[1]] == [1]
    assert [v for k, v in samples.items() if k[0] == "kafka_consumergroup_lag_seconds"] == [0]
    assert [v for k, v in samples.items() if k[0] == "kafka_consumergroup_status_complete"] == [1]
    without = to_metrics(_state(50, 50, 0, state="Weird"), result, "c", {}, False)
    names = {f.name for f in without}
    assert "kafka_consumergroup_partition_status" not in names
    weird = [s for f in without if f.name == "kafka_consumergroup_state" for s in f.samples]
    assert len(weird) == 6 and [s.labels["state"] for s in weird if s.value == 1] == ["Weird"]


def test_lag_seconds_max_and_method_off() -> None:
    history = History(time_lag_window=60, status_window=3)
    state = ClusterState(
        brokers=(),
        topics={"t": {0: PartitionInfo(0, newest=0), 1: PartitionInfo(0, newest=0)}},
        groups={"g": GroupInfo(1, offsets={("t", 0): 0, ("t", 1): 0})},
    )
    history.update(state, 0.0)
    later = ClusterState(
        brokers=(),
        topics={"t": {0: PartitionInfo(0, newest=10), 1: PartitionInfo(0, newest=100)}},
        groups={"g": GroupInfo(1, offsets={("t", 0): 5, ("t", 1): 0})},
    )
    history.update(later, 10.0)
    result = evaluate(history, later, 10.0, TimeLagConfig())
    # Partition 0: record 5 appended at t=6 (hwm 0 -> 10 over 10 s); partition 1: record 0 at 0.1.
    assert result.lag_seconds == {("g", "t", 0): 4.0, ("g", "t", 1): 9.9}
    samples = {
        s.name: s.value for f in to_metrics(later, result, "c", {}, False) for s in f.samples
    }
    assert samples["kafka_consumergroup_lag_seconds_max"] == 9.9
    off = evaluate(history, later, 10.0, TimeLagConfig(method="off"))
    assert off.lag_seconds == {}


def test_evaluation_reads_each_window_as_the_rules_do_on_random_walks() -> None:
    """`evaluate` reads the windows' storage in place, field by field: on random walks of many
    partitions through `History.update` (windows filling, sliding, slots freed and reused), every
    partition's status is the reference rules' verdict over its window of observations."""
    rng = random.Random(11)
    size, partitions = 4, 24
    history = History(time_lag_window=60, status_window=size)
    offsets = {p: 100 for p in range(partitions)}
    hwms = {p: 100 + rng.randint(0, 3) for p in range(partitions)}
    seen = set()
    for step in range(40):
        now = float(step * 40 + rng.choice((0, 0, 35)))  # some refreshes late: STOP
        for p in range(partitions):
            hwms[p] += rng.choice((0, 1, 3))
            offsets[p] = min(offsets[p] + rng.choice((0, 0, 1, 2, -1)), hwms[p])
        live = [p for p in range(partitions) if step % 7 != 3 or p % 5]  # some leave, come back
        members = rng.choice((None, 0, 2))
        state = ClusterState(
            brokers=(),
            topics={"t": {p: PartitionInfo(0, newest=hwms[p]) for p in range(partitions)}},
            groups={"g": GroupInfo(members, "Stable", {("t", p): offsets[p] for p in live})},
        )
        history.update(state, now)
        verdict = evaluate(history, state, now, TimeLagConfig()).statuses["g"]
        assert sorted(verdict.partitions) == [("t", p) for p in live]
        for p in live:
            window = history.commits.observations(("g", "t", p))
            expected = partition_status(window, size, members, now)
            assert verdict.partitions[("t", p)] is expected, (step, p, window)
            seen.add(expected)
        full = sum(len(history.commits.observations(("g", "t", p))) == size for p in live)
        assert verdict.complete == full / len(live)
    assert seen == set(Status)

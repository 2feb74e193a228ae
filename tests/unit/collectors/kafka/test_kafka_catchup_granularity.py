"""Pure parts of issue 27's evaluation options: the (group, topic) rates behind
kafka_consumergroup_catchup_seconds, and granularity topic on share groups (whose per-partition
series the e2e test on Kafka 4.4 does not make)."""

from __future__ import annotations

import math

from exporter.collectors.kafka.history.topic_rates import TopicRates
from exporter.collectors.kafka.metrics import share_group_metrics
from exporter.collectors.kafka.state import (
    ClusterState,
    GroupInfo,
    PartitionInfo,
    ShareGroupInfo,
    SharePartition,
)


def _state(newest: dict[int, int], committed: dict[int, int]) -> ClusterState:
    return ClusterState(
        brokers=(),
        topics={"t": {n: PartitionInfo(leader=1, newest=o, oldest=0) for n, o in newest.items()}},
        groups={"g": GroupInfo(members=1, offsets={("t", n): o for n, o in committed.items()})},
    )


def test_catchup_is_lag_over_the_rate_difference_across_partitions() -> None:
    rates = TopicRates(window=10.0)
    rates.update(_state({0: 100, 1: 100}, {0: 0, 1: 50}), now=0.0)
    assert rates.catchup_seconds(("g", "t")) is None  # one point says nothing about rates
    # 10 s later: produced 20, consumed 60 -> c = 6/s, p = 2/s, lag 220 - 110 = 110 -> 27.5 s
    rates.update(_state({0: 110, 1: 110}, {0: 30, 1: 80}), now=10.0)
    assert rates.catchup_seconds(("g", "t")) == 110 / (6 - 2)


def test_zero_when_caught_up_inf_when_behind_or_stopped() -> None:
    rates = TopicRates(window=10.0)
    rates.update(_state({0: 10}, {0: 5}), now=0.0)
    rates.update(_state({0: 20}, {0: 12}), now=5.0)  # consumes 7, produces 10: behind
    assert rates.catchup_seconds(("g", "t")) == math.inf
    rates.update(_state({0: 20}, {0: 12}), now=10.0)
    rates.update(_state({0: 20}, {0: 12}), now=25.0)  # window: only 10..25, nothing moves
    assert rates.catchup_seconds(("g", "t")) == math.inf
    rates.update(_state({0: 20}, {0: 25}), now=26.0)  # committed past a stale watermark
    assert rates.catchup_seconds(("g", "t")) == 0.0


def test_window_drops_old_points_and_other_partitions_restart() -> None:
    rates = TopicRates(window=10.0)
    for second in range(0, 31, 5):
        rates.update(_state({0: 1000}, {0: 10 * second}), now=float(second))
    points = rates.points[("g", "t")]
    assert [p.time for p in points] == [20.0, 25.0, 30.0]  # 20 = the window's start, 30 - 10
    assert rates.catchup_seconds(("g", "t")) == (1000 - 300) / 10
    rates.update(_state({0: 1000, 1: 5}, {0: 310, 1: 0}), now=31.0)  # a partition added
    assert len(rates.points[("g", "t")]) == 1 and rates.catchup_seconds(("g", "t")) is None
    rates.update(ClusterState(brokers=(), topics={}, groups={}), now=32.0)
    assert rates.points == {}


def test_granularity_topic_drops_share_group_partition_series() -> None:
    state = ClusterState(
        brokers=(),
        topics={},
        groups={},
        share_groups={
            "q": ShareGroupInfo(
                members=2,
                state="Stable",
                partitions={
                    ("t", 0): SharePartition(start_offset=3, lag=5),
                    ("t", 1): SharePartition(start_offset=6, lag=4),
                },
            )
        },
    )
    by_mode = {
        mode: {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in share_group_metrics.to_metrics(state, "c", {}, mode)
            for s in f.samples
        }
        for mode in ("partition", "topic")
    }
    part, top = by_mode["partition"], by_mode["topic"]
    assert any("partition" in dict(k[1]) for k in part)
    assert not any("partition" in dict(k[1]) for k in top)
    assert {k: v for k, v in part.items() if "partition" not in dict(k[1])} == top
    sums = {k: v for k, v in top.items() if k[0] == "kafka_sharegroup_lag_sum"}
    assert list(sums.values()) == [9]


def test_points_per_group_and_topic_stay_bounded_at_short_intervals() -> None:
    rates = TopicRates(window=60.0)
    for tick in range(6000):  # 0.1 s refreshes over 600 s: 600 a window
        second = tick / 10
        rates.update(_state({0: 100_000}, {0: int(50 * second)}), now=second)
    points = rates.points[("g", "t")]
    assert len(points) <= 60 + 3
    seconds = rates.catchup_seconds(("g", "t"))
    assert seconds is not None
    truth = (100_000 - 50 * 599.9) / 50
    assert abs(seconds - truth) <= truth / 60


def test_each_point_sums_only_commits_on_partitions_with_a_known_watermark_per_topic() -> None:
    state = ClusterState(
        brokers=(),
        topics={
            "a": {
                0: PartitionInfo(leader=1, newest=100),
                1: PartitionInfo(leader=1, newest=None),  # leader did not answer
                2: PartitionInfo(leader=1, newest=40),
            },
            "b": {0: PartitionInfo(leader=1, newest=7)},
        },
        groups={
            "g": GroupInfo(
                members=1,
                offsets={
                    ("a", 0): 60,
                    ("a", 1): 5,  # no watermark: left out
                    ("a", 2): 45,  # past the watermark (racing read): counts as caught up
                    ("b", 0): 3,
                    ("c", 0): 9,  # a topic the refresh did not read: left out
                },
            ),
            "h": GroupInfo(members=0, offsets={("a", 0): -1}),  # no commit: no point
        },
    )
    rates = TopicRates(window=10.0)
    rates.update(state, now=1.0)
    assert sorted(rates.points) == [("g", "a"), ("g", "b")]
    (a,) = rates.points[("g", "a")]
    assert (a.committed, a.end, a.partitions) == (60 + 40, 100 + 40, frozenset({0, 2}))
    (b,) = rates.points[("g", "b")]
    assert (b.committed, b.end, b.partitions) == (3, 7, frozenset({0}))

"""Lag in seconds and status of every group, evaluated from the collector's `History`.

Pure: called in `fetch()` right after `History.update()`, it turns the history into plain
numbers that travel in the fetched object to `to_metrics()`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from exporter.collectors.kafka.evaluate.consumer_status import (
    ConsumerStatus,
    GroupStatus,
    group_status,
    status_of,
)
from exporter.collectors.kafka.evaluate.lag_time import WatermarkLine, record_lag_seconds
from exporter.collectors.kafka.history.commit_windows import GroupPartition
from exporter.collectors.kafka.history.history import History, TopicPartition
from exporter.collectors.kafka.lag_status_config import TimeLagConfig
from exporter.collectors.kafka.state import ClusterState


@dataclass(frozen=True)
class Evaluation:
    """What the history says after one refresh, in exposition order (groups, then partitions,
    sorted)."""

    observed_at: float
    """When the refresh read the cluster (epoch seconds)."""
    lag_seconds: dict[GroupPartition, float] = field(default_factory=dict)
    """(group, topic, partition) -> lag in seconds; absent when it cannot be told yet."""
    statuses: dict[str, GroupStatus] = field(default_factory=dict)
    pending: int = 0
    """Lag-seconds values that are estimates while their record waits to be read."""
    unreadable: int = 0
    """Lag-seconds values that are estimates because their record may not be read (ACLs)."""
    capped: frozenset[GroupPartition] = frozenset()
    """Committed offsets below the log start offset (retention deleted them): the value is the
    age of the oldest record still there."""
    catchup_seconds: dict[tuple[str, str], float] = field(default_factory=dict)
    """(group, topic) -> seconds until the lag is 0 at the window's rates (inf: never)."""


def evaluate(
    history: History,
    state: ClusterState,
    now: float,
    time_lag: TimeLagConfig,
    unreadable: Collection[TopicPartition] = (),
    nothing_pending: Collection[tuple[str, int, int]] = (),
) -> Evaluation:
    """Lag in seconds per partition and status per group, as of `now`.

    With `auto` and `timestamp` a known record time wins; otherwise the estimate is used and,
    where a read is wanted (`timestamp`: always; `auto`: the committed offset is before the
    watched history), counted as pending or unreadable. `nothing_pending` are committed offsets
    followed only by transaction markers (0 s).
    """
    commits, method = history.commits, time_lag.method
    reads = method in ("auto", "timestamp")
    pending = denied = 0
    capped: set[GroupPartition] = set()
    partitions_seen: dict[TopicPartition, _Partition] = {}  # each partition prepared once
    lag_seconds: dict[GroupPartition, float] = {}
    statuses: dict[str, GroupStatus] = {}
    record_times, capped_keys = history.record_times, history.capped
    # The windows' storage read in place (the flags of `CommitWindows.flags`, field by field):
    # this loop runs once per lag series.
    windows = commits.arrays()
    size, counts, times, offsets, lags, since = (
        windows.size,
        windows.counts,
        windows.times,
        windows.offsets,
        windows.lags,
        windows.since,
    )
    zero, rewound, moved, decreased = (
        windows.zero,
        windows.rewound,
        windows.moved,
        windows.decreased,
    )
    for group in sorted(state.groups):
        info = state.groups[group]
        members = info.members
        partitions: dict[TopicPartition, ConsumerStatus] = {}
        full = 0
        slots = commits.of_group(group)
        for topic_partition in sorted(info.offsets):
            slot = slots.get(topic_partition)
            if slot is None or times[slot] != now:
                continue  # not observed this refresh (high watermark unknown): no verdict on it
            count = counts[slot]
            base = slot * size
            newest = base + (count - 1) % size
            if count >= size:
                full += 1
                partitions[topic_partition] = status_of(
                    True,
                    zero[slot],
                    rewound[slot],
                    moved[slot],
                    decreased[slot],
                    since[base + count % size],
                    since[newest],
                    members,
                    now,
                )
            else:
                partitions[topic_partition] = ConsumerStatus.OK  # window not full yet
            if method == "off":
                continue
            topic, number = topic_partition
            seconds: float | None = None
            committed = offsets[newest]
            key = (topic, number, committed)
            if lags[newest] == 0 or key in nothing_pending:
                lag_seconds[(group, topic, number)] = 0.0
                continue
            partition = partitions_seen.get(topic_partition)
            if partition is None:
                partition = partitions_seen[topic_partition] = _Partition.of(
                    history, state, topic_partition, time_lag.window
                )
            if reads:
                record_time = record_times.get(key)
                if record_time is not None:
                    seconds = record_lag_seconds(record_time, now)
                if key in capped_keys or (
                    partition.oldest is not None and committed < partition.oldest
                ):
                    capped.add((group, topic, number))
            if seconds is None:
                if partition.line is not None:
                    seconds = partition.line.lag_seconds(committed, now)
                # a read is wanted always with `timestamp`; with `auto` where the watched
                # history cannot place the committed offset
                if reads and (method == "timestamp" or committed < partition.first_watched):
                    if topic_partition in unreadable:
                        denied += 1
                    else:
                        pending += 1
            if seconds is not None:
                lag_seconds[(group, topic, number)] = seconds
        if partitions:
            statuses[group] = group_status(partitions, full)
    return Evaluation(
        observed_at=now,
        lag_seconds=lag_seconds,
        statuses=statuses,
        pending=pending,
        unreadable=denied,
        capped=frozenset(capped),
        catchup_seconds=_catchup(history, state),
    )


def _catchup(history: History, state: ClusterState) -> dict[tuple[str, str], float]:
    """Catch-up time of every (group, topic) the rates table can tell, sorted."""
    out: dict[tuple[str, str], float] = {}
    rates = history.rates
    for key in sorted(rates.points):
        if key[0] in state.groups:
            seconds = rates.catchup_seconds(key)
            if seconds is not None:
                out[key] = seconds
    return out


@dataclass(frozen=True, slots=True)
class _Partition:
    """What `evaluate` needs of one partition, prepared once for every group on it."""

    oldest: int | None
    """Log start offset, when known."""
    first_watched: float
    """High watermark of the watermark table's first point (inf without a table: a committed
    offset anywhere is before the watched history)."""
    line: WatermarkLine | None

    @classmethod
    def of(
        cls, history: History, state: ClusterState, partition: TopicPartition, window: float
    ) -> _Partition:
        topic, number = partition
        table = history.watermarks.get(partition)
        return cls(
            state.topics[topic][number].oldest,
            float("inf") if table is None else table.first_offset,
            None if table is None else WatermarkLine(table.points(), window),
        )

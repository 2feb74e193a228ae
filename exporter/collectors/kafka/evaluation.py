"""Lag in seconds and status of every group, evaluated from the collector's `History`.

Pure: called in `fetch()` right after `History.update()`, it turns the history into plain
numbers that travel in the fetched object to `to_metrics()`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from exporter.collectors.kafka.history import GroupPartition, History, Observation, Point
from exporter.collectors.kafka.lag_status_config import StatusConfig, TimeLagConfig
from exporter.collectors.kafka.lag_time import estimate_lag_seconds, record_lag_seconds
from exporter.collectors.kafka.state import ClusterState
from exporter.collectors.kafka.status import GroupStatus, group_status


@dataclass(frozen=True)
class Evaluation:
    """What the history says after one refresh."""

    observed_at: float
    """When the refresh read the cluster (epoch seconds)."""
    lag_seconds: dict[GroupPartition, float] = field(default_factory=dict)
    """(group, topic, partition) -> lag in seconds; absent when it cannot be told yet."""
    statuses: dict[str, GroupStatus] = field(default_factory=dict)


def evaluate(
    history: History,
    state: ClusterState,
    now: float,
    time_lag: TimeLagConfig,
    status: StatusConfig,
) -> Evaluation:
    """Lag in seconds per partition and status per group, as of `now`."""
    lag_seconds: dict[GroupPartition, float] = {}
    points: dict[tuple[str, int], list[Point]] = {}  # each table read once, whatever the groups
    windows: dict[str, dict[tuple[str, int], Sequence[Observation]]] = defaultdict(dict)
    for (group, topic, number), window in history.commits.items():
        if window.latest.time != now:
            continue  # not observed this refresh (high watermark unknown): no verdict on it
        observations = window.observations()
        windows[group][(topic, number)] = observations
        if time_lag.method == "off":
            continue
        last = window.latest
        seconds: float | None = None
        if last.lag == 0:
            seconds = 0.0
        elif time_lag.method == "timestamp":
            record_time = history.record_times.get((topic, number, last.offset))
            if record_time is not None:
                seconds = record_lag_seconds(record_time, now)
        if seconds is None:
            table = history.watermarks.get((topic, number))
            if table is not None:
                if (topic, number) not in points:
                    points[(topic, number)] = table.points()
                table_points = points[(topic, number)]
                seconds = estimate_lag_seconds(table_points, last.offset, now, time_lag.window)
        if seconds is not None:
            lag_seconds[(group, topic, number)] = seconds
    statuses = {
        group: group_status(
            by_partition,
            status.window,
            state.groups[group].members if group in state.groups else None,
            now,
        )
        for group, by_partition in windows.items()
    }
    return Evaluation(observed_at=now, lag_seconds=lag_seconds, statuses=statuses)

"""Bounded history the `kafka` collector keeps between refreshes, for lag in seconds and status.

- `watermarks`: a `WatermarkTable` of (high watermark, observed time) points per partition.
- `commits`: `CommitWindows`, the last N (committed offset, lag) of each group on each partition.
- `rates`: `TopicRates`, committed and watermark sums per (group, topic) over the window.
- `record_times`: timestamps of the records at committed offsets (methods `auto`, `timestamp`),
  read once per (topic, partition, offset) and kept while a group is at that offset; `capped`
  marks those read at the log start offset because retention deleted the committed one.

`History.update()` is called only after a successful read; entries of topics, partitions and groups
that are gone are dropped. Every table has a fixed maximum size, so memory stays bounded however
long the exporter runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from exporter.collectors.kafka.history.commit_windows import CommitWindows, GroupPartition
from exporter.collectors.kafka.history.topic_rates import TopicRates
from exporter.collectors.kafka.history.watermarks import WatermarkTable
from exporter.collectors.kafka.state import ClusterState

K = TypeVar("K")
V = TypeVar("V")
TopicPartition = tuple[str, int]
RecordKey = tuple[str, int, int]
"""(topic, partition, offset)"""


class History:
    """Per-collector history: watermark tables, commit windows and known record timestamps."""

    def __init__(self, time_lag_window: float, status_window: int) -> None:
        self._time_lag_window = time_lag_window
        self.window = time_lag_window
        """`time_lag.window`: the span over which the recent produce rate is measured."""
        self.watermarks: dict[TopicPartition, WatermarkTable] = {}
        self.commits = CommitWindows(status_window)
        self.record_times: dict[RecordKey, float] = {}
        """Timestamps (epoch seconds) of the records at committed offsets (auto, timestamp)."""
        self.capped: dict[RecordKey, int] = {}
        """Keys of `record_times` read at this log start offset (the committed one is deleted)."""
        self.rates = TopicRates(time_lag_window)
        """Per (group, topic) committed and watermark sums over the window (catch-up time)."""

    def update(
        self,
        state: ClusterState,
        now: float,
        record_times: dict[RecordKey, float] | None = None,
        capped: dict[RecordKey, int] | None = None,
    ) -> None:
        """Add one successful refresh observed at `now`; drop what has disappeared."""
        for topic, parts in state.topics.items():
            for number, part in parts.items():
                if part.newest is None:
                    continue  # leader did not answer: keep the table as it is
                table = self.watermarks.get((topic, number))
                if table is None:
                    table = self.watermarks[(topic, number)] = WatermarkTable(self._time_lag_window)
                table.observe(part.newest, now)
        _keep_only(self.watermarks, set(live_partitions(state)))
        self.rates.update(state, now)

        if record_times is not None:
            self.record_times.update(record_times)
            for key in record_times:
                self.capped.pop(key, None)
        if capped:
            self.capped.update(capped)
        wanted: set[RecordKey] | None = set() if self.record_times else None
        commits = self.commits
        newest_of = state.high_watermarks
        commits.begin()
        for group, info in state.groups.items():
            positions = []
            for partition, offset in info.offsets.items():
                if partition not in newest_of:
                    continue
                newest = newest_of[partition]
                if offset < 0 or newest is None:
                    commits.keep(group, partition)  # hwm unknown now: kept, unobserved
                    continue
                positions.append((partition, offset, newest - offset if newest > offset else 0))
            if wanted is None:
                commits.observe_group(group, positions, now)
                continue
            latest: list[int] = []
            commits.observe_group(group, positions, now, latest)
            for ((topic, number), _offset, _lag), offset in zip(positions, latest, strict=True):
                wanted.add((topic, number, offset))
        commits.end()
        if wanted is not None:
            _keep_only(self.record_times, wanted)
            _keep_only(self.capped, wanted)


def live_partitions(state: ClusterState) -> Iterable[TopicPartition]:
    """Every (topic, partition) of the refresh."""
    for topic, parts in state.topics.items():
        for number in parts:
            yield topic, number


def committed_positions(state: ClusterState) -> Iterable[tuple[str, str, int, int, int]]:
    """(group, topic, partition, committed offset, lag) for every commit on a known partition."""
    newest_of = state.high_watermarks
    for group, info in state.groups.items():
        for partition, offset in info.offsets.items():
            newest = newest_of.get(partition)
            if offset < 0 or newest is None:
                continue
            yield (
                group,
                partition[0],
                partition[1],
                offset,
                newest - offset if newest > offset else 0,
            )


def _keep_only(table: dict[K, V], keys: set[K]) -> None:
    for key in [k for k in table if k not in keys]:
        del table[key]


__all__ = ["GroupPartition", "History", "RecordKey", "TopicPartition"]

"""Bounded history the `kafka` collector keeps between refreshes, for lag in seconds and status.

- `WatermarkTable`: (high watermark, observed time) points of one partition.
- `CommitWindow`: the last N (committed offset, lag, observed time) of one group on one partition.
- `History`: both, keyed by partition and (group, partition), plus record timestamps read by method
  `timestamp`. `History.update()` is called only after a successful read; entries of topics,
  partitions and groups that are gone are dropped. Every table has a fixed maximum size, so memory
  stays bounded however long the exporter runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import NamedTuple, TypeVar

from exporter.collectors.kafka.state import ClusterState

K = TypeVar("K")
V = TypeVar("V")
TopicPartition = tuple[str, int]
GroupPartition = tuple[str, str, int]
"""(group, topic, partition)"""
RecordKey = tuple[str, int, int]
"""(topic, partition, offset)"""


class Point(NamedTuple):
    """The high watermark of a partition as observed at `time` (epoch seconds)."""

    offset: int
    time: float


class WatermarkTable:
    """(high watermark, observed time) points of one partition, oldest first, of bounded size.

    Levels, newest first: the last `FINE_POINTS` observations as they are (small lags resolve to
    one refresh); then `RECENT_POINTS` points at least `window / RECENT_POINTS` apart (the last
    `window`); then `OLDER_LEVELS` levels of `OLDER_POINTS` points, each level twice as sparse as
    the one before, so older history survives at a resolution proportional to its age (a backfill
    20 minutes ago stays locatable). Points leaving a full level move to the next one. The first
    observation (the anchor) and the latest are always kept, a run of equal high watermarks keeps
    only its first and latest points (an idle topic remembers when it went idle), and the table
    never exceeds `MAX_POINTS`. A high watermark going backwards (topic re-created) resets it.
    """

    FINE_POINTS = 8
    RECENT_POINTS = 12
    OLDER_POINTS = 4
    OLDER_LEVELS = 10
    MAX_POINTS = 2 + FINE_POINTS + RECENT_POINTS + OLDER_POINTS * OLDER_LEVELS

    def __init__(self, window: float) -> None:
        stride = window / self.RECENT_POINTS
        self._spacing = [0.0, stride, *(stride * 2**k for k in range(1, 1 + self.OLDER_LEVELS))]
        self._capacity = [
            self.FINE_POINTS,
            self.RECENT_POINTS,
            *([self.OLDER_POINTS] * self.OLDER_LEVELS),
        ]
        self._anchor: Point | None = None
        self._latest: Point | None = None
        self._levels: list[deque[Point]] = [deque() for _ in self._spacing]

    def observe(self, offset: int, time: float) -> None:
        """Record the high watermark `offset` seen at `time`."""
        point = Point(offset, time)
        latest = self._latest
        if latest is not None and time <= latest.time:
            return  # clock went backwards or a duplicate: keep the table monotonic in time
        if latest is None or offset < latest.offset:
            self._anchor = self._latest = point
            for level in self._levels:
                level.clear()
            return
        if latest is not self._anchor:
            self._push(0, latest)
        self._latest = point

    def _push(self, index: int, point: Point) -> None:
        level = self._levels[index]
        if len(level) >= 2 and level[-1].offset == level[-2].offset == point.offset:
            level[-1] = point  # a flat run keeps its first and its latest point only
            return
        if point.time - self._kept_before(index).time < self._spacing[index]:
            return
        level.append(point)
        if len(level) > self._capacity[index]:
            oldest = level.popleft()
            if index + 1 < len(self._levels):
                self._push(index + 1, oldest)

    def _kept_before(self, index: int) -> Point:
        """The newest kept point at `index` or older (the anchor when there is none)."""
        for level in self._levels[index:]:
            if level:
                return level[-1]
        assert self._anchor is not None
        return self._anchor

    def points(self) -> list[Point]:
        """All points, oldest first (anchor first, latest last); empty before any observation."""
        if self._anchor is None or self._latest is None:
            return []
        out = [self._anchor]
        for level in reversed(self._levels):
            out.extend(level)
        if self._latest is not self._anchor:
            out.append(self._latest)
        return out

    def __len__(self) -> int:
        return len(self.points())


class Observation(NamedTuple):
    """One group's position on one partition as seen by one refresh."""

    offset: int
    """Committed offset."""
    lag: int
    """High watermark - committed offset (>= 0)."""
    time: float
    """When it was observed (epoch seconds)."""
    since: float
    """When this committed offset was first observed: the derived time of its commit."""


class CommitWindow:
    """The last `size` observations of one group on one partition, oldest first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._observations: deque[Observation] = deque(maxlen=size)

    def observe(self, offset: int, lag: int, time: float) -> None:
        """Append one refresh's view; the oldest falls out once `size` are held."""
        last = self._observations[-1] if self._observations else None
        if last is not None and time <= last.time:
            return
        since = last.since if last is not None and last.offset == offset else time
        self._observations.append(Observation(offset, lag, time, since))

    def observations(self) -> tuple[Observation, ...]:
        """The window, oldest first."""
        return tuple(self._observations)

    @property
    def latest(self) -> Observation:
        """The newest observation (a window is created with its first one)."""
        return self._observations[-1]

    @property
    def full(self) -> bool:
        """Whether the window holds `size` observations."""
        return len(self._observations) == self.size


class History:
    """Per-collector history: watermark tables, commit windows and known record timestamps."""

    def __init__(self, time_lag_window: float, status_window: int) -> None:
        self._time_lag_window = time_lag_window
        self._status_window = status_window
        self.watermarks: dict[TopicPartition, WatermarkTable] = {}
        self.commits: dict[GroupPartition, CommitWindow] = {}
        self.record_times: dict[RecordKey, float] = {}
        """Timestamps (epoch seconds) of the records at committed offsets, for method timestamp."""

    def update(
        self, state: ClusterState, now: float, record_times: dict[RecordKey, float] | None = None
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

        seen: set[GroupPartition] = set()
        for group, topic, number, offset, lag in committed_positions(state):
            key = (group, topic, number)
            seen.add(key)
            window = self.commits.get(key)
            if window is None:
                window = self.commits[key] = CommitWindow(self._status_window)
            window.observe(offset, lag, now)
        # A partition whose high watermark is unknown this time keeps its window, unobserved.
        alive = seen | {
            (group, topic, number)
            for group, info in state.groups.items()
            for topic, number in info.offsets
            if number in state.topics.get(topic, {})
        }
        _keep_only(self.commits, alive)

        if record_times is not None:
            self.record_times.update(record_times)
        wanted = {(t, p, self.commits[(g, t, p)].latest.offset) for g, t, p in seen}
        _keep_only(self.record_times, wanted)


def live_partitions(state: ClusterState) -> Iterable[TopicPartition]:
    """Every (topic, partition) of the refresh."""
    for topic, parts in state.topics.items():
        for number in parts:
            yield topic, number


def committed_positions(state: ClusterState) -> Iterable[tuple[str, str, int, int, int]]:
    """(group, topic, partition, committed offset, lag) for every commit on a known partition."""
    for group, info in state.groups.items():
        for (topic, number), offset in info.offsets.items():
            part = state.topics.get(topic, {}).get(number)
            if offset < 0 or part is None or part.newest is None:
                continue
            yield group, topic, number, offset, max(part.newest - offset, 0)


def _keep_only(table: dict[K, V], keys: set[K]) -> None:
    for key in [k for k in table if k not in keys]:
        del table[key]

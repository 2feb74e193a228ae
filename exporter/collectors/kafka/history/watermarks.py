"""`WatermarkTable`: the bounded (high watermark, observed time) history of one partition."""

from __future__ import annotations

from collections import deque
from typing import NamedTuple


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

    @property
    def first_offset(self) -> int:
        """High watermark of the oldest point (the anchor); -1 before any observation. A committed
        offset below it is older than anything the table has seen."""
        return -1 if self._anchor is None else self._anchor.offset

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

"""Consumption and production rates of each (group, topic) over the history window, for
`kafka_consumergroup_catchup_seconds`.

Each refresh adds one point per (group, topic): the sum of the group's committed offsets and the
sum of the high watermarks over the same partitions (those with a commit and a known watermark).
Points older than the window are dropped (the two newest are always kept), and points closer
than `window / STEPS` to the one before the newest are merged into it, so the table holds at most
about STEPS + 2 points per (group, topic) whatever the refresh interval (the window's start is
then known to within window / STEPS, a rate error of at most 1 / STEPS).
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

from exporter.collectors.kafka.state import ClusterState

GroupTopic = tuple[str, str]
STEPS = 60


class RatePoint(NamedTuple):
    time: float
    committed: int
    """Sum of the group's committed offsets on the topic's partitions."""
    end: int
    """Sum of the high watermarks of those partitions."""
    partitions: frozenset[int]


class TopicRates:
    """(group, topic) -> points over the last `window` seconds."""

    def __init__(self, window: float) -> None:
        self.window = window
        self.points: dict[GroupTopic, deque[RatePoint]] = {}

    def update(self, state: ClusterState, now: float) -> None:
        """Add one point per (group, topic) of the refresh observed at `now`; drop the others."""
        sums: dict[GroupTopic, tuple[int, int, list[int]]] = {}
        newest_of = state.high_watermarks
        for group, info in state.groups.items():
            by_topic: dict[str, list[Any]] = {}  # topic -> [committed sum, end sum, numbers]
            for partition, offset in info.offsets.items():
                newest = newest_of.get(partition)
                if offset < 0 or newest is None:
                    continue
                topic, number = partition
                acc = by_topic.get(topic)
                if acc is None:
                    acc = by_topic[topic] = [0, 0, []]
                # a committed offset past the watermark (racing read) counts as caught up
                acc[0] += offset if offset < newest else newest
                acc[1] += newest
                acc[2].append(number)
            for topic, (committed, end, numbers) in by_topic.items():
                sums[(group, topic)] = (committed, end, numbers)
        for key in [k for k in self.points if k not in sums]:
            del self.points[key]
        for key, (committed, end, numbers) in sums.items():
            points = self.points.get(key)
            partitions = frozenset(numbers)
            if points and points[-1].partitions == partitions:
                partitions = points[-1].partitions  # one set shared by the key's points
            else:
                points = self.points[key] = deque()  # other partitions: the sums do not compare
            point = RatePoint(now, committed, end, partitions)
            if len(points) >= 2 and points[-1].time - points[-2].time < self.window / STEPS:
                points[-1] = point  # the newest is too close to the one before: replaced
            else:
                points.append(point)
            while len(points) > 2 and points[1].time <= now - self.window:
                points.popleft()

    def catchup_seconds(self, key: GroupTopic) -> float | None:
        """Seconds until the group's lag on the topic is 0 at the window's rates: 0 when caught
        up, lag / (consume rate - produce rate) when it consumes faster than the topic grows,
        +inf while it falls behind or stands still with lag; None without two points in time."""
        points = self.points.get(key)
        if not points:
            return None
        first, last = points[0], points[-1]
        lag = last.end - last.committed
        if lag <= 0:
            return 0.0
        span = last.time - first.time
        if span <= 0:
            return None
        consume = (last.committed - first.committed) / span
        produce = (last.end - first.end) / span
        if consume <= produce:
            return float("inf")
        return lag / (consume - produce)

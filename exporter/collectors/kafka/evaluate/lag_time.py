"""Lag in seconds: how long ago the partition's newest offset was where the group's offset is now.

The record at committed offset `c` is the oldest one the group has not processed; it was appended
when the high watermark moved past `c`, i.e. reached `c + 1`. Lag in seconds is the age of that
moment. Two ways to know it:

- `estimate` (as kafka-lag-exporter does): look `c + 1` up in the partition's table of
  (high watermark, observed time) points and interpolate linearly between the two points around
  it. When `c + 1` is not above the table's oldest point (the group is behind everything the
  exporter has seen), extrapolate backwards from that point with the recent produce rate. The
  anchor's known failure is that a backfill or an idle topic gives a rate near zero and the
  extrapolation then reports years for a short backlog; here the extrapolation is bounded by what
  is known: the record was appended no later than the oldest point, and the extrapolation reaches
  back at most as far as the table spans (the time since its oldest point), so the estimate is
  never more than twice as long as the exporter has watched the partition.
- `timestamp`: the timestamp of the record at the committed offset itself (exact; the caller
  fetches it). See `record_lag_seconds`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from exporter.collectors.kafka.history.watermarks import Point


class WatermarkLine:
    """A partition's watermark points (a `WatermarkTable`'s content: oldest first, the latest
    observation last) prepared once for the lookups of every group on it; `window` is the span
    over which the recent produce rate is measured."""

    __slots__ = ("_offsets", "_points", "_rate", "_times", "_window")

    def __init__(self, points: Sequence[Point], window: float) -> None:
        self._points = points
        self._offsets = [p.offset for p in points]
        self._times = [p.time for p in points]
        self._window = window
        self._rate: float | None = None

    def lag_seconds(self, committed: int, now: float) -> float | None:
        """Estimated lag in seconds at `now` of a group at `committed` on this partition; 0 when
        caught up; None when it cannot be told yet (fewer than two points in time)."""
        offsets, times = self._offsets, self._times
        if not offsets:
            return None
        if committed >= offsets[-1]:
            return 0.0
        if len(offsets) < 2 or times[-1] <= times[0]:
            return None  # a single observation says nothing about time
        watermark = committed + 1
        if watermark > offsets[0]:  # inside the table: interpolated (the common case, inline)
            index = bisect_left(offsets, watermark)
            before = index - 1
            share = (watermark - offsets[before]) / (offsets[index] - offsets[before])
            appended = times[before] + share * (times[index] - times[before])
        else:
            appended = self._extrapolated(watermark)
        return now - appended if now > appended else 0.0

    def _extrapolated(self, watermark: int) -> float:
        """When the high watermark reached `watermark`, at or below the table's oldest point:
        extrapolated backwards at the recent produce rate, at most as far as the table spans."""
        offsets, times = self._offsets, self._times
        if self._rate is None:
            self._rate = produce_rate(self._points, self._window)
        rate = self._rate
        span = times[-1] - times[0]
        reach = (offsets[0] - watermark) / rate if rate > 0 else span
        return times[0] - min(reach, span)


def produce_rate(points: Sequence[Point], window: float) -> float:
    """Records per second over the last `window` of `points` (over all of them when that is 0)."""
    latest = points[-1]
    recent = [p for p in points if p.time >= latest.time - window]
    if len(recent) < 2:
        recent = list(points[-2:])
    for sample in (recent, points):
        first, last = sample[0], sample[-1]
        if last.time > first.time and last.offset > first.offset:
            return (last.offset - first.offset) / (last.time - first.time)
    return 0.0


def record_lag_seconds(record_time: float, now: float) -> float:
    """Lag in seconds from the timestamp of the record at the committed offset (never < 0)."""
    return max(now - record_time, 0.0)

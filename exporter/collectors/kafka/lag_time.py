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

from exporter.collectors.kafka.history import Point


def estimate_lag_seconds(
    points: Sequence[Point], committed: int, now: float, window: float
) -> float | None:
    """Estimated lag in seconds at `now`; 0 when caught up; None when it cannot be told yet.

    `points` is a `WatermarkTable`'s content (oldest first, the latest observation last) and
    `window` the span over which the recent produce rate is measured.
    """
    if not points:
        return None
    latest = points[-1]
    if committed >= latest.offset:
        return 0.0
    oldest = points[0]
    if len(points) < 2 or latest.time <= oldest.time:
        return None  # a single observation says nothing about time
    appended_at = _appended_at(points, committed + 1, window)
    return max(now - appended_at, 0.0)


def _appended_at(points: Sequence[Point], watermark: int, window: float) -> float:
    """When the high watermark reached `watermark` (interpolated, or bounded extrapolation)."""
    oldest, latest = points[0], points[-1]
    if watermark > oldest.offset:
        index = bisect_left(points, watermark, key=_offset)
        before, after = points[index - 1], points[index]
        share = (watermark - before.offset) / (after.offset - before.offset)
        return before.time + share * (after.time - before.time)
    rate = produce_rate(points, window)
    span = latest.time - oldest.time
    reach = (oldest.offset - watermark) / rate if rate > 0 else span
    return oldest.time - min(reach, span)


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


def _offset(point: Point) -> int:
    return point.offset


def record_lag_seconds(record_time: float, now: float) -> float:
    """Lag in seconds from the timestamp of the record at the committed offset (never < 0)."""
    return max(now - record_time, 0.0)

"""Parse the `Datapoints` JSON string of DescribeMetricList and keep the newest point per series."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from exporter.collectors.aliyun_cms.state import Datapoint, SeriesKey
from exporter.collectors.values import as_number
from exporter.schema.types import NameFilter

VALUE_FIELDS = ("Value", "Maximum", "Average")
"""Where a point's value is looked up, in order; a missing or non-numeric field falls through."""


class MalformedDatapoints(ValueError):
    """`Datapoints` is not a JSON list of objects."""


def parse_datapoints(raw: object) -> list[dict[str, Any]]:
    """The points of one page: `raw` is the JSON string (an already decoded list is accepted).

    An absent or empty string means no points. Not JSON, JSON nested too deeply for the
    decoder, or not a list of objects: MalformedDatapoints.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return []
    if isinstance(raw, str):
        try:
            points = json.loads(raw)
        except ValueError as exc:
            raise MalformedDatapoints(f"Datapoints is not valid JSON: {exc}") from None
        except RecursionError:  # `[[[[...`: the C decoder recurses per nesting level
            raise MalformedDatapoints("Datapoints is nested too deeply") from None
    else:
        points = raw
    if not isinstance(points, list):
        raise MalformedDatapoints(f"Datapoints is a JSON {type(points).__name__}, expected a list")
    for index, point in enumerate(points):
        if not isinstance(point, dict):
            raise MalformedDatapoints(f"Datapoints[{index}] is {point!r}, expected an object")
    return points


def point_value(point: Mapping[str, Any]) -> float | None:
    """`Value`, else `Maximum`, else `Average`; None when none of them is a finite number (NaN,
    and `1e400` or `Infinity`, which JSON decodes to inf, are no backlog). 0 is a value."""
    for field in VALUE_FIELDS:
        number = as_number(point.get(field), bool_is_number=False)
        if number is not None and math.isfinite(number):
            return number
    return None


def point_key(point: Mapping[str, Any]) -> SeriesKey | None:
    """(instanceId, consumerGroup), or None when either is missing."""
    instance, group = point.get("instanceId"), point.get("consumerGroup")
    if isinstance(instance, str) and instance and isinstance(group, str) and group:
        return instance, group
    return None


def merge_newest(newest: dict[SeriesKey, Datapoint], points: Iterable[Mapping[str, Any]]) -> int:
    """Fold `points` into `newest`, keeping the latest usable point per series.

    Points without a series key, a finite timestamp or a value are skipped; returns how many
    (a NaN timestamp would never be replaced, as no comparison with it is true).
    """
    skipped = 0
    for point in points:
        key = point_key(point)
        millis = as_number(point.get("timestamp"), bool_is_number=False)
        value = point_value(point)
        if key is None or millis is None or not math.isfinite(millis) or value is None:
            skipped += 1
            continue
        current = newest.get(key)
        timestamp = millis / 1000.0
        if current is None or timestamp >= current.timestamp:
            newest[key] = Datapoint(timestamp, value)
    return skipped


def select(
    newest: Mapping[SeriesKey, Datapoint],
    instances: Iterable[str],
    groups: NameFilter,
    skip_zero: bool,
) -> dict[SeriesKey, Datapoint]:
    """Series to export: configured instances, groups passing the filter, zeros dropped if asked."""
    wanted = set(instances)
    return {
        key: point
        for key, point in sorted(newest.items())
        if key[0] in wanted and groups.matches(key[1]) and not (skip_zero and point.value == 0)
    }

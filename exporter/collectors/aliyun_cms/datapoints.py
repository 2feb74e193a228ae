"""Parse the `Datapoints` JSON string of DescribeMetricList and keep the newest point per series.

The string is decoded one point at a time (`iter_datapoints`) and each point folded at once
(`merge_newest`), so a page costs memory for one point, not for all of them, and decoding stops
at the count limit: a 15 MB string of `{}` is refused after `limit` points instead of becoming
five million dicts. Callers run this in a worker thread (pager.py), off the event loop.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from json.decoder import WHITESPACE  # type: ignore[attr-defined]
from typing import Any

from exporter.collectors.aliyun_cms.state import Datapoint, SeriesKey
from exporter.collectors.values import as_number
from exporter.schema.json_types import json_type
from exporter.schema.types import NameFilter

VALUE_FIELDS = ("Value", "Maximum", "Average")
"""Where a point's value is looked up, in order: the first one present (not null) is the value."""
LABEL_FIELDS = ("instanceId", "consumerGroup")
INVALID_REASONS = (
    "missing_label",
    "missing_timestamp",
    "invalid_timestamp",
    "missing_value",
    "not_a_number",
    "not_finite",
    "negative",
)
"""Why a point was dropped (the `reason` label of aliyun_cms_datapoints_invalid)."""
_DECODER = json.JSONDecoder()
_CHECK_EVERY = 1024
"""Points between two looks at the deadline."""


class MalformedDatapoints(ValueError):
    """`Datapoints` is not JSON: the `InvalidDatapoints` error of the collector."""

    code = "InvalidDatapoints"


class WrongType(MalformedDatapoints):
    """A field of the answer has the wrong JSON type; the message names the field."""

    code = "invalid_response"


class TooManyDatapoints(MalformedDatapoints):
    """More points than the limit of a reply or of a refresh."""

    code = "invalid_response"


class OutOfTime(MalformedDatapoints):
    """The refresh's deadline passed while the points were being decoded."""

    code = "timeout"


def iter_datapoints(
    raw: object, limit: int, deadline: float | None = None
) -> Iterator[dict[str, Any]]:
    """The points of one page, one at a time: `raw` is the JSON string (an already decoded list
    is accepted).

    An absent or empty string means no points. Not JSON or nested too deeply for the decoder:
    MalformedDatapoints; not a list of objects: WrongType naming the field; more than `limit`
    points: TooManyDatapoints (raised when point `limit + 1` is reached, before decoding more);
    past `deadline` (time.monotonic()): OutOfTime.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return
    if isinstance(raw, list):
        if len(raw) > limit:
            raise TooManyDatapoints(_too_many(limit))
        for index, point in enumerate(raw):
            yield _object(index, point)
        return
    if not isinstance(raw, str):
        raise WrongType(f"Datapoints is a JSON {json_type(raw)}, expected a string")
    index = _skip(raw, 0)
    if raw[index] != "[":
        raise WrongType(f"Datapoints is a JSON {json_type(_decode_all(raw))}, expected an array")
    index = _skip(raw, index + 1)
    count = 0
    if raw.startswith("]", index):
        index += 1
    else:
        while True:
            if count >= limit:
                raise TooManyDatapoints(_too_many(limit))
            if deadline is not None and count % _CHECK_EVERY == 0 and time.monotonic() > deadline:
                raise OutOfTime(
                    f"Datapoints: decoding stopped at the deadline after {count} points"
                )
            point, index = _decode_at(raw, index)
            yield _object(count, point)
            count += 1
            index = _skip(raw, index)
            if raw.startswith(",", index):
                index = _skip(raw, index + 1)
            elif raw.startswith("]", index):
                index += 1
                break
            else:
                raise MalformedDatapoints(
                    f"Datapoints is not valid JSON: expected ',' or ']' at char {index}"
                )
    if _skip(raw, index) != len(raw):
        raise MalformedDatapoints(f"Datapoints is not valid JSON: extra data at char {index}")


def parse_datapoints(raw: object, limit: int = 1 << 62) -> list[dict[str, Any]]:
    """All points of one page as a list (tests and small pages); see `iter_datapoints`."""
    return list(iter_datapoints(raw, limit))


def _too_many(limit: int) -> str:
    return f"Datapoints holds more than {limit} points; the limit is {limit}"


def _skip(text: str, index: int) -> int:
    end: int = WHITESPACE.match(text, index).end()
    return end


def _decode_at(text: str, index: int) -> tuple[object, int]:
    try:
        return _DECODER.raw_decode(text, index)
    except ValueError as exc:
        raise MalformedDatapoints(f"Datapoints is not valid JSON: {exc}") from None
    except RecursionError:  # `[[[[...`: the C decoder recurses per nesting level
        raise MalformedDatapoints("Datapoints is nested too deeply") from None


def _decode_all(text: str) -> object:
    value, end = _decode_at(text, _skip(text, 0))
    if _skip(text, end) != len(text):
        raise MalformedDatapoints(f"Datapoints is not valid JSON: extra data at char {end}")
    return value


def _object(index: int, point: object) -> dict[str, Any]:
    if not isinstance(point, dict):
        raise WrongType(f"Datapoints[{index}] is a JSON {json_type(point)}, expected an object")
    return point


def point_value(point: Mapping[str, Any], where: str = "Datapoints[]") -> float | str:
    """The value of `point`, or why it has none (one of INVALID_REASONS).

    The first of `Value`, `Maximum`, `Average` present and not null is the value: a number or a
    numeric string, finite and not negative (NaN, and `1e400` or `Infinity`, which JSON decodes
    to inf, are no backlog; 0 is a value). A present value that is not one is invalid, it does
    not fall through to the next field. An array, object or boolean is WrongType.
    """
    for field in VALUE_FIELDS:
        raw = point.get(field)
        if raw is None:
            continue
        if not isinstance(raw, int | float | str) or isinstance(raw, bool):
            raise WrongType(f"{where}.{field} is a JSON {json_type(raw)}, expected a number")
        number = as_number(raw, bool_is_number=False)
        if number is None:
            return "not_a_number"
        if not math.isfinite(number):
            return "not_finite"
        if number < 0:
            return "negative"
        return number
    return "missing_value"


def point_key(point: Mapping[str, Any], where: str = "Datapoints[]") -> SeriesKey | None:
    """(instanceId, consumerGroup), or None when either is missing, null or empty; WrongType
    when one is not a string."""
    labels = []
    for field in LABEL_FIELDS:
        label = point.get(field)
        if label is not None and not isinstance(label, str):
            raise WrongType(f"{where}.{field} is a JSON {json_type(label)}, expected a string")
        labels.append(label)
    instance, group = labels
    if instance and group:
        return instance, group
    return None


def point_time(point: Mapping[str, Any], where: str = "Datapoints[]") -> float | str:
    """Unix seconds of `point`'s `timestamp` (milliseconds), or why it has none."""
    raw = point.get("timestamp")
    if raw is None:
        return "missing_timestamp"
    if not isinstance(raw, int | float | str) or isinstance(raw, bool):
        raise WrongType(f"{where}.timestamp is a JSON {json_type(raw)}, expected a number")
    millis = as_number(raw, bool_is_number=False)
    if millis is None or not math.isfinite(millis):  # a NaN timestamp would never be replaced
        return "invalid_timestamp"
    return millis / 1000.0


def merge_newest(
    newest: dict[SeriesKey, Datapoint],
    points: Iterable[Mapping[str, Any]],
    invalid: Counter[str] | None = None,
) -> int:
    """Fold `points` into `newest`, keeping the latest usable point per series.

    Points without a series key, a usable timestamp or a usable value are dropped and counted in
    `invalid` by reason; returns how many. A field of the wrong JSON type raises WrongType.
    """
    dropped = 0
    for index, point in enumerate(points):
        where = f"Datapoints[{index}]"
        key = point_key(point, where)
        timestamp = point_time(point, where)
        value = point_value(point, where)
        if key is None:
            reason = "missing_label"
        elif isinstance(timestamp, str):
            reason = timestamp
        elif isinstance(value, str):
            reason = value
        else:
            current = newest.get(key)
            if current is None or timestamp >= current.timestamp:
                newest[key] = Datapoint(timestamp, value)
            continue
        dropped += 1
        if invalid is not None:
            invalid[reason] += 1
    return dropped


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

"""The `aliyun_cms` collector's datapoints: parsing, values, the newest point, selection,
batches."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from exporter.collectors.aliyun_cms.datapoints import (
    MalformedDatapoints,
    OutOfTime,
    TooManyDatapoints,
    WrongType,
    iter_datapoints,
    merge_newest,
    parse_datapoints,
    point_value,
    select,
)
from exporter.collectors.aliyun_cms.pager import batches, dimensions
from exporter.collectors.aliyun_cms.state import Datapoint
from exporter.schema.types import NameFilter


def test_datapoints_is_a_json_string_of_objects() -> None:
    text = json.dumps([{"timestamp": 1, "instanceId": "a"}])
    assert parse_datapoints(text) == [{"timestamp": 1, "instanceId": "a"}]
    assert parse_datapoints(None) == []
    assert parse_datapoints("") == []
    assert parse_datapoints("[]") == []
    assert parse_datapoints([{"timestamp": 1}]) == [{"timestamp": 1}]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('[{"timestamp": 1', "InvalidDatapoints"),
        ('[{"timestamp": 1}] x', "InvalidDatapoints"),
        ('[{"timestamp": 1} {}]', "InvalidDatapoints"),
        ('{"timestamp": 1}', "invalid_response"),
        ("[1, 2]", "invalid_response"),
        ('["a"]', "invalid_response"),
        ("null", "invalid_response"),
        (42, "invalid_response"),
        ({"a": 1}, "invalid_response"),
    ],
)
def test_malformed_datapoints_are_an_error(text: object, code: str) -> None:
    with pytest.raises(MalformedDatapoints) as info:
        parse_datapoints(text)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ({"Value": 7, "Maximum": 9, "Average": 8}, 7.0),
        ({"Maximum": 9, "Average": 8}, 9.0),
        ({"Average": 8}, 8.0),
        ({"Value": 0, "Maximum": 9}, 0.0),  # a real 0 is a real 0
        ({"Value": None, "Maximum": 0, "Average": 5}, 0.0),
        ({"Value": "12", "Average": 5}, 12.0),
        ({"Value": "n/a", "Average": 5}, "not_a_number"),  # present: it is the value
        ({"Value": -3, "Average": 5}, "negative"),
        ({"Value": "-0.5"}, "negative"),
        ({"Value": "NaN"}, "not_finite"),
        ({"Maximum": 1e400}, "not_finite"),
        ({"Minimum": 3}, "missing_value"),
        ({}, "missing_value"),
    ],
)
def test_value_is_the_first_present_of_value_maximum_average(
    point: dict, expected: float | str
) -> None:
    assert point_value(point) == expected


@pytest.mark.parametrize(
    ("point", "field", "kind"),
    [
        ({"Value": True}, "Value", "boolean"),
        ({"Maximum": [1]}, "Maximum", "array"),
        ({"consumerGroup": ["g"], "Value": 1}, "consumerGroup", "array"),
        ({"instanceId": 7, "Value": 1}, "instanceId", "number"),
        ({"timestamp": {"ms": 1}, "Value": 1}, "timestamp", "object"),
    ],
)
def test_a_field_of_the_wrong_json_type_is_invalid_response_naming_it(
    point: dict, field: str, kind: str
) -> None:
    good = {"instanceId": "i", "consumerGroup": "g", "timestamp": 60_000}
    with pytest.raises(WrongType) as info:
        merge_newest({}, [{"x": 1}, {**good, **point}])
    assert info.value.code == "invalid_response"
    assert str(info.value).startswith(f"Datapoints[1].{field} is a JSON {kind}, expected a ")


def test_invalid_points_are_counted_by_reason() -> None:
    invalid: Counter[str] = Counter()
    points = [_p(60_000, Value=v) for v in (-1, "abc", "Infinity", 4)] + [_p(60_000, group="")]
    newest: dict = {}
    assert merge_newest(newest, points, invalid) == 4
    assert invalid == {"negative": 1, "not_a_number": 1, "not_finite": 1, "missing_label": 1}
    assert newest == {("i", "g"): Datapoint(60.0, 4.0)}


def test_decoding_stops_at_the_count_limit_before_the_rest_is_read() -> None:
    text = "[" + ",".join(["{}"] * 1000) + ",{not json"  # broken after the limit: never reached
    points = iter_datapoints(text, 10)
    assert [next(points) for _ in range(10)] == [{}] * 10
    with pytest.raises(TooManyDatapoints, match="more than 10 points"):
        next(points)
    assert parse_datapoints("[" + ",".join(["{}"] * 10) + "]", 10) == [{}] * 10
    with pytest.raises(TooManyDatapoints):
        parse_datapoints([{}] * 11, 10)


def test_decoding_stops_at_the_deadline() -> None:
    text = "[" + ",".join(["{}"] * 5000) + "]"
    with pytest.raises(OutOfTime):
        list(iter_datapoints(text, 10_000, deadline=time.monotonic() - 1))


def _p(ts: int, group: str = "g", instance: str = "i", **values: object) -> dict:
    return {"timestamp": ts, "instanceId": instance, "consumerGroup": group, **values}


def test_newest_point_per_group_wins_whatever_the_order() -> None:
    newest: dict = {}
    skipped = merge_newest(
        newest,
        [
            _p(120_000, Value=5),
            _p(180_000, Value=7),
            _p(60_000, Value=1),
            _p(60_000, group="h", Average=3),
            _p(240_000, group="h"),  # newest but no value at all: the older point stays
            {"timestamp": 300_000, "instanceId": "i", "Value": 1},  # no group
            {"instanceId": "i", "consumerGroup": "g", "Value": 99},  # no timestamp
        ],
    )
    assert skipped == 3
    assert newest == {("i", "g"): Datapoint(180.0, 7.0), ("i", "h"): Datapoint(60.0, 3.0)}
    merge_newest(newest, [_p(150_000, Value=100)])  # older page later: ignored
    assert newest[("i", "g")] == Datapoint(180.0, 7.0)


def test_select_filters_instances_groups_and_zeros() -> None:
    newest = {
        ("a", "orders"): Datapoint(1.0, 0.0),
        ("a", "billing"): Datapoint(1.0, 4.0),
        ("a", "billing-test"): Datapoint(1.0, 4.0),
        ("other", "orders"): Datapoint(1.0, 9.0),
    }
    groups = NameFilter(include=["orders", "billing.*"], exclude=[".*-test"])
    assert list(select(newest, ["a"], groups, skip_zero=False)) == [
        ("a", "billing"),
        ("a", "orders"),
    ]
    assert list(select(newest, ["a"], groups, skip_zero=True)) == [("a", "billing")]


def test_dimensions_ask_for_all_instances_in_batches_of_50() -> None:
    assert json.loads(dimensions(["a", "b"])) == [{"instanceId": "a"}, {"instanceId": "b"}]
    ids = [f"i{n}" for n in range(120)]
    assert [len(b) for b in batches(ids)] == [50, 50, 20]

"""The `aliyun_cms` collector's datapoints: parsing, values, the newest point, selection,
batches."""

from __future__ import annotations

import json

import pytest

from exporter.collectors.aliyun_cms.datapoints import (
    MalformedDatapoints,
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
    "text", ['[{"timestamp": 1', '{"timestamp": 1}', "[1, 2]", '["a"]', "null", 42, {"a": 1}]
)
def test_malformed_datapoints_are_an_error(text: object) -> None:
    with pytest.raises(MalformedDatapoints):
        parse_datapoints(text)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ({"Value": 7, "Maximum": 9, "Average": 8}, 7.0),
        ({"Maximum": 9, "Average": 8}, 9.0),
        ({"Average": 8}, 8.0),
        ({"Value": 0, "Maximum": 9}, 0.0),  # a real 0 is a real 0
        ({"Value": None, "Maximum": 0, "Average": 5}, 0.0),
        ({"Value": "12", "Average": 5}, 12.0),
        ({"Value": "n/a", "Average": 5}, 5.0),
        ({"Value": True, "Average": 5}, 5.0),
        ({"Minimum": 3}, None),
        ({}, None),
    ],
)
def test_value_falls_through_value_maximum_average(point: dict, expected: float | None) -> None:
    assert point_value(point) == expected


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

"""Property-based fuzzing of the CloudMonitor `Datapoints` parser and newest-point selection
(`aliyun_cms/datapoints.py`): random text, random JSON documents and random point lists either
parse or raise MalformedDatapoints (never another exception, never a hang), and merge_newest /
select keep only points with a series key, a finite timestamp and a finite, non-negative value.

The default suite runs a short pass; `pytest -m fuzz` runs the long one.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.collectors.aliyun_cms.datapoints import (
    MalformedDatapoints,
    WrongType,
    merge_newest,
    parse_datapoints,
    select,
)
from exporter.collectors.aliyun_cms.state import Datapoint, SeriesKey
from exporter.schema.types import NameFilter

SHORT = settings(  # the default suite: the same inputs every run
    max_examples=300,
    derandomize=True,
    deadline=timedelta(seconds=2),  # a page parses in well under 10ms: only a hang trips it
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG = settings(SHORT, max_examples=20_000, derandomize=False)  # a few minutes

_KEYS = ["instanceId", "consumerGroup", "timestamp", "Value", "Maximum", "Average", "x"]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(10**400), 10**400)
    | st.floats()
    | st.sampled_from(["i-1", "g", "", "NaN", "inf", "-Infinity", "1e400", "12", " 3 "])
    | st.text(max_size=6)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=4), inner, max_size=6)
    ),
    max_leaves=20,
)
_POINT = st.fixed_dictionaries(
    {},
    optional={
        "instanceId": st.sampled_from(["i-1", "i-2", ""]) | _SCALARS,
        "consumerGroup": st.sampled_from(["g", "h", ""]) | _SCALARS,
        "timestamp": st.integers(0, 2**53) | _SCALARS,
        "Value": _SCALARS,
        "Maximum": _SCALARS,
        "Average": _SCALARS,
    },
)


def _dump(document: Any) -> str:
    return json.dumps(document, allow_nan=True)  # CloudMonitor's NaN/Infinity forms too


_TEXT = (
    st.text(max_size=64)
    | _JSON.map(_dump)
    | st.lists(_POINT, max_size=8).map(_dump)
    | st.integers(1, 200_000).map(lambda n: "[" * n)  # nesting beyond the JSON decoder's stack
    | st.lists(_POINT, min_size=1, max_size=4).map(lambda p: _dump(p)[:-1])  # cut short
)


def _parse_and_select(raw: object) -> str:
    newest: dict[SeriesKey, Datapoint] = {}
    try:
        points = parse_datapoints(raw)
        skipped = merge_newest(newest, points)
    except WrongType as exc:  # a field of the wrong JSON type: named in the message
        assert str(exc).startswith("Datapoints") and exc.code == "invalid_response"
        return "malformed"
    except MalformedDatapoints:
        return "malformed"
    assert 0 <= skipped <= len(points)
    for point in newest.values():
        assert math.isfinite(point.timestamp) and math.isfinite(point.value) and point.value >= 0
    chosen = select(newest, ["i-1"], NameFilter(), skip_zero=True)
    assert all(key[0] == "i-1" and p.value != 0 for key, p in chosen.items())
    return "parsed"


def _run(config: settings) -> Counter[str]:
    seen: Counter[str] = Counter()

    @config
    @given(_TEXT | _JSON | st.lists(_POINT, max_size=8))
    def run(raw: object) -> None:
        seen[_parse_and_select(raw)] += 1

    run()
    return seen


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        ("[" * 100_000, "malformed"),
        ('[{"instanceId": "i-1", "consumerGroup": "g", "timestamp": 1, "Value": 1' + "0" * 400 + "}]", "parsed"),
        ('[{"instanceId": "i-1", "consumerGroup": "g", "timestamp": 1' + "0" * 400 + ', "Value": 1}]', "parsed"),
        ('[{"instanceId": "i-1", "consumerGroup": "g", "timestamp": NaN, "Value": 1}]', "parsed"),
    ],
)  # fmt: skip
def test_the_inputs_fuzzing_found(raw: str, outcome: str) -> None:
    assert _parse_and_select(raw) == outcome
    points = [] if outcome == "malformed" else parse_datapoints(raw)
    newest: dict[SeriesKey, Datapoint] = {}
    merge_newest(newest, points)
    assert not newest  # no usable point in any of them


def test_a_nan_timestamp_does_not_pin_the_series() -> None:
    newest: dict[SeriesKey, Datapoint] = {}
    point = {"instanceId": "i-1", "consumerGroup": "g", "Value": 5}
    assert merge_newest(newest, [{**point, "timestamp": "NaN"}, {**point, "timestamp": 2000}]) == 1
    assert newest == {("i-1", "g"): Datapoint(2.0, 5.0)}


def test_datapoints_short() -> None:
    seen = _run(SHORT)
    assert seen["parsed"] and seen["malformed"]


@pytest.mark.fuzz
@pytest.mark.timeout(900)
def test_datapoints_long() -> None:
    print("datapoints:", dict(_run(LONG)))

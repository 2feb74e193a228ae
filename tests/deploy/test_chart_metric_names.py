"""Every metric name the alert rules, the Grafana dashboard and the adapter config use exists in
the exporter, asked of the code's own catalogue (`all_metric_specs()`), never a hand-kept list.
PromQL is parsed with promql-parser, so a name inside any expression is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.metric_names import (
    DASHBOARD,
    adapter_queries,
    dashboard_queries,
    metric_names,
    rule_exprs,
    unknown,
)


def test_the_parser_finds_names_everywhere() -> None:
    expr = 'sum by (a) (rate(x_total[5m])) / on (a) group_left max(y or {__name__="z"} or w) > 1'
    assert metric_names(expr) == {"x_total", "y", "z", "w"}
    assert metric_names('label_replace(q, "a", "$1", "b", "(.*)") - time()') == {"q"}


@pytest.mark.parametrize("source", ["alert rules", "dashboard", "adapter"])
def test_every_metric_name_is_in_the_catalogue(source: str) -> None:
    if source == "alert rules":
        exprs, recorded = rule_exprs()
        missing = unknown(exprs, recorded)
    elif source == "dashboard":
        missing = unknown(dashboard_queries())
    else:
        missing = unknown(adapter_queries())
    assert not missing, f"{source} use metrics the exporter does not produce: {sorted(missing)}"


def test_a_misspelt_name_is_caught() -> None:
    assert unknown(["kafka_consumergroup_lagg"]) == {"kafka_consumergroup_lagg"}


def test_dashboard_shape() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"cluster", "consumergroup"} <= set(variables)
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    used = " ".join(t["expr"] for p in panels for t in p["targets"])
    for needed in (
        "kafka_consumergroup_lag_sum",
        "kafka_consumergroup_lag_seconds_max",
        "kafka_consumer_message_accumulation",
        "kafka_streams_alive",
        "kafka_health_exporter_collector_up",
    ):
        assert needed in used, needed
    assert "$cluster" in used and "$consumergroup" in used
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        cells = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & occupied, f"panel {panel['title']} overlaps another"
        assert g["x"] + g["w"] <= 24
        occupied |= cells


def test_dashboard_file_is_what_the_chart_ships() -> None:
    assert Path(DASHBOARD).is_file()
    assert json.loads(DASHBOARD.read_text())["uid"] == "kafka-health-exporter"

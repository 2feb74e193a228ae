"""The Grafana dashboard keeps exporters apart and says what its numbers are: every selector of
every panel query (parsed with promql-parser) matches `job=~"$job"` and `instance=~"$instance"`,
so two exporters' series never merge, and every panel has a unit."""

from __future__ import annotations

import json
import re
from typing import Any

import promql_parser
import pytest

from tests.support.metric_names import DASHBOARD, vector_selectors

# Grafana unit ids the panels may use ("none": a state code, shown through value mappings).
UNITS = {"s", "short", "none", "bytes", "percentunit", "ops"}


def panels() -> list[dict[str, Any]]:
    """Every panel that shows data (rows left out)."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def with_variables_marked(expr: str) -> str:
    """A panel query in PromQL: `$__rate_interval` a duration, every `$var` the string `@var`."""
    expr = re.sub(r"\$\{?__(rate_)?interval\}?", "5m", expr)
    return re.sub(r"\$\{?(\w+)\}?", r"@\1", expr)


def missing_filters(expr: str) -> list[str]:
    """The selectors of `expr` (as text) that lack the job or the instance variable."""
    wanted = {("job", "@job"), ("instance", "@instance")}
    out = []
    for selector in vector_selectors(with_variables_marked(expr)):
        regex = {
            (m.name, m.value)
            for m in selector.matchers.matchers
            if m.op == promql_parser.MatchOp.Re
        }
        if not wanted <= regex:
            out.append(str(selector))
    return out


def test_the_check_notices_a_selector_without_the_filters() -> None:
    good = 'max(x{job=~"$job", instance=~"$instance"})'
    assert missing_filters(good) == []
    assert missing_filters(f'{good} / rate(y{{job=~"$job"}}[$__rate_interval])') != []
    assert missing_filters('time() - max(z{instance=~"$instance", job="$job"})') != []


@pytest.mark.parametrize("panel", panels(), ids=lambda p: p["title"])
def test_every_selector_filters_by_job_and_instance(panel: dict[str, Any]) -> None:
    for target in panel["targets"]:
        assert missing_filters(target["expr"]) == [], (panel["title"], target["refId"])


@pytest.mark.parametrize("panel", panels(), ids=lambda p: p["title"])
def test_every_panel_has_a_unit(panel: dict[str, Any]) -> None:
    unit = panel["fieldConfig"]["defaults"].get("unit")
    assert unit in UNITS, (panel["title"], unit)
    for override in panel["fieldConfig"].get("overrides", []):
        for prop in override["properties"]:
            if prop["id"] == "unit":
                assert prop["value"] in UNITS, panel["title"]


def test_failures_per_second_are_not_shown_as_seconds() -> None:
    (panel,) = [p for p in panels() if p["title"] == "Refresh duration and failures"]
    refs = {t["refId"]: t["expr"] for t in panel["targets"]}
    assert "failures_total" in refs["B"] and panel["fieldConfig"]["defaults"]["unit"] == "s"
    (override,) = panel["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byFrameRefID", "options": "B"}
    assert override["properties"] == [{"id": "unit", "value": "short"}]


def test_job_and_instance_list_every_exporter() -> None:
    """Every exporter has a collector_up series (a jmx sidecar has no kafka_brokers)."""
    variables = {v["name"]: v for v in json.loads(DASHBOARD.read_text())["templating"]["list"]}
    assert variables["job"]["query"]["query"] == (
        "label_values(kafka_health_exporter_collector_up, job)"
    )
    assert variables["instance"]["query"]["query"] == (
        'label_values(kafka_health_exporter_collector_up{job=~"$job"}, instance)'
    )
    for name in ("job", "instance"):
        assert variables[name]["includeAll"] and variables[name]["allValue"] == ".*"

"""PromQL metric names: what the chart's rules, dashboard and adapter config select, and which of
them the exporter's own catalogue (`all_metric_specs()`) does not have. PromQL is parsed with
promql-parser, so a name inside any expression is found."""

from __future__ import annotations

import json
import re
from typing import Any

import promql_parser
import yaml

from exporter.exposition.catalogue import all_metric_specs
from tests.support.adapter_query import build_external_query, rules_of
from tests.support.chart_render import CHART, rule_groups

DASHBOARD = CHART / "dashboards" / "kafka-health-exporter.json"
ADAPTER_FILES = sorted((CHART / "adapter").glob("values*.yaml"))
# Series the rules read from kube-state-metrics, not from this exporter.
KUBE_STATE_METRICS = {
    "kube_pod_container_status_restarts_total",
    "kube_pod_owner",
    "kube_replicaset_owner",
}


def vector_selectors(expr: str) -> list[Any]:
    """Every vector selector (those inside range selectors too) of a PromQL expression."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        kind = type(node).__name__
        if kind == "VectorSelector":
            found.append(node)
        elif kind == "MatrixSelector":
            walk(node.vector_selector)
        elif kind == "Call":
            for arg in node.args:
                walk(arg)
        elif kind == "BinaryExpr":
            walk(node.lhs)
            walk(node.rhs)
        elif kind in ("AggregateExpr", "ParenExpr", "UnaryExpr", "SubqueryExpr"):
            walk(node.expr)
            if kind == "AggregateExpr" and node.param is not None:
                walk(node.param)

    walk(promql_parser.parse(expr))
    return found


def metric_names(expr: str) -> set[str]:
    """Every metric name selected anywhere in a PromQL expression."""
    names: set[str] = set()
    for node in vector_selectors(expr):
        if node.name:
            names.add(node.name)
        names.update(m.value for m in node.matchers.matchers if m.name == "__name__")
    return names


def grafana_to_promql(expr: str) -> str:
    """A dashboard query with its variables replaced by values valid in PromQL."""
    expr = re.sub(r"\$\{?__(rate_)?interval\}?", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def dashboard_queries() -> list[str]:
    """Every panel target expr and every label_values() metric of the templating."""
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            found = re.fullmatch(r"label_values\((.+),\s*\w+\)", var["query"]["query"])
            assert found, var["query"]
            exprs.append(found.group(1))
    return [grafana_to_promql(e) for e in exprs]


def rule_exprs() -> tuple[list[str], set[str]]:
    """Exprs of every rendered rule, and the names the recording rules define."""
    rules = [r for g in rule_groups() for r in g["rules"]]
    return [r["expr"] for r in rules], {r["record"] for r in rules if "record" in r}


def adapter_queries() -> list[str]:
    """Each adapter rule's seriesQuery and its metricsQuery as the adapter would fill it."""
    out = []
    for path in ADAPTER_FILES:
        for rule in rules_of(yaml.safe_load(path.read_text())):
            out.append(rule["seriesQuery"])
            out.append(build_external_query(rule, {"matchLabels": {"x": "y"}}, "ns"))
    return out


def unknown(exprs: list[str], also_known: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """Names used in `exprs` that the exporter's catalogue does not have."""
    used = set().union(*(metric_names(e) for e in exprs))
    return used - set(all_metric_specs()) - KUBE_STATE_METRICS - also_known

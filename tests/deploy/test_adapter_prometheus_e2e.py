"""prometheus-adapter's External-metric queries, end to end: two exporter replicas against real Kafka 4.x,
a real Prometheus scraping both, and the adapter rules' metricsQuery filled the way the adapter
fills it for an HPA selector (tests/support/adapter_query.py) returning that group's lag and only that."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import yaml

from tests.support.adapter_query import build_external_query, label_matchers, requirements, rules_of
from tests.support.chart_render import CHART, rule_groups
from tests.support.exporter_process import ExporterProcess, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.support.prometheus_server import PrometheusServer

ADAPTER = yaml.safe_load((CHART / "adapter" / "values.yaml").read_text())
ADAPTER_NAMESPACED = yaml.safe_load((CHART / "adapter" / "values-namespaced.yaml").read_text())
EXPORTER_NAMESPACE = "shop"  # the namespace label Prometheus puts on the exporter's series


def rule_for(values: dict[str, Any], metric: str) -> dict[str, Any]:
    """The adapter rule serving `metric`."""
    (rule,) = [r for r in rules_of(values) if f'"{metric}"' in r["seriesQuery"]]
    return dict(rule)


# --- the port of the adapter's query building, against its own Go unit tests' expectations ----


def test_label_matchers_like_the_adapter_builds_them() -> None:
    namespaced = {"resources": {"overrides": {"namespaces": {"resource": "namespaces"}}}}
    selector = {"matchLabels": {"foo": "bar"}}
    assert label_matchers(namespaced, selector, "") == 'foo="bar"'
    assert label_matchers(namespaced, selector, "default") == 'foo="bar",namespaces="default"'
    both = {
        "matchLabels": {"qux": "x"},
        "matchExpressions": [
            {"key": "qux", "operator": "In", "values": ["baz", "bar"]},
            {"key": "foo", "operator": "Exists"},
            {"key": "zed", "operator": "NotIn", "values": ["a"]},
        ],
    }
    assert [r.key for r in requirements(both)] == ["foo", "qux", "qux", "zed"]
    assert label_matchers({"resources": {"namespaced": False}}, both, "default") == (
        'foo!="",qux="x",qux=~"bar|baz",zed!~"a"'
    )
    no_mapping: dict[str, Any] = {"resources": {}}
    with pytest.raises(ValueError, match="no override or template"):
        label_matchers(no_mapping, selector, "default")


def test_one_rule_per_metric_honouring_the_selector() -> None:
    for values in (ADAPTER, ADAPTER_NAMESPACED):
        rules = rules_of(values)
        assert len(rules) == len({r["seriesQuery"] for r in rules})
        for rule in rules:
            assert "<<.LabelMatchers>>" in rule["metricsQuery"], rule
            assert "<<.GroupBy>>" not in rule["metricsQuery"], "GroupBy is empty for externals"
            assert rule["metricsQuery"].lstrip().startswith(("max", "sum")), rule
            assert "max by" in rule["metricsQuery"], "max folds the exporter replicas"
    assert all(r["resources"]["namespaced"] is False for r in rules_of(ADAPTER))
    assert all("namespaced" not in r["resources"] for r in rules_of(ADAPTER_NAMESPACED))
    query = build_external_query(
        rule_for(ADAPTER_NAMESPACED, "kafka_consumergroup_lag_sum"),
        {"matchLabels": {"consumergroup": "orders"}},
        "shop",
    )
    assert 'kafka_consumergroup_lag_sum{consumergroup="orders",namespace="shop"}' in query


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(
    broker: KafkaCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PrometheusServer, dict[str, str]]]:
    """Lagging groups on Kafka, two exporter replicas, Prometheus scraping both; all stopped after."""
    tmp_path = tmp_path_factory.mktemp("adapter-e2e")

    prefix = unique("hpa")
    topic_a, topic_b = f"{prefix}-a", f"{prefix}-b"
    groups = {
        "orders": f"{prefix}-orders",
        "billing": f"{prefix}-billing",
        "idle": f"{prefix}-idle",
    }

    async def prepare() -> None:
        await create_topics(broker.bootstrap, {topic_a: 2, topic_b: 1})
        await produce(broker.bootstrap, topic_a, {0: 5, 1: 3})
        await produce(broker.bootstrap, topic_b, {0: 2})
        # orders: (5-1) + (3-0) on topic a, 2 on topic b = 9; billing: 1; idle: 0
        await commit(
            broker.bootstrap, groups["orders"], {(topic_a, 0): 1, (topic_a, 1): 0, (topic_b, 0): 0}
        )
        await commit(broker.bootstrap, groups["billing"], {(topic_a, 0): 4, (topic_a, 1): 3})
        await commit(broker.bootstrap, groups["idle"], {(topic_a, 0): 5})

    asyncio.run(prepare())
    config = f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: e2e
    type: kafka
    bootstrap_servers: "{broker.bootstrap}"
    cluster: e2e
    groups: {{include: ["{prefix}-.*"]}}
    topics: {{include: ["{prefix}-.*"]}}
"""
    with ExitStack() as stack:
        replicas = [stack.enter_context(ExporterProcess(config, tmp_path)) for _ in range(2)]
        for exporter in replicas:
            exporter.wait_ready()
        scrape = {
            "job_name": "kafka-health-exporter",
            "static_configs": [
                {"targets": [f"127.0.0.1:{e.port}" for e in replicas],
                 "labels": {"namespace": EXPORTER_NAMESPACE}},
            ],
        }  # fmt: skip
        prometheus = stack.enter_context(PrometheusServer(tmp_path, [scrape]))
        # 2 replicas x (orders: 2 topics, billing: 1, idle: 1) with the final values
        expected_series = 8
        wait_for(
            lambda: len(
                prometheus.query(f'kafka_consumergroup_lag_sum{{consumergroup=~"{prefix}-.*"}}')
            ) == expected_series,
            40,
            what=f"prometheus to scrape both replicas; log: {prometheus.log()[-2000:]}",
        )  # fmt: skip
        yield prometheus, groups


def test_adapter_query_returns_the_selected_groups_lag_only(
    stack: tuple[PrometheusServer, dict[str, str]],
) -> None:
    prometheus, groups = stack
    rule = rule_for(ADAPTER, "kafka_consumergroup_lag_sum")
    # namespaced: false -> the HPA's own namespace ("consumers") is not added to the query
    for name, lag in (("orders", 9.0), ("billing", 1.0), ("idle", 0.0)):
        selector = {"matchLabels": {"cluster": "e2e", "consumergroup": groups[name]}}
        query = build_external_query(rule, selector, "consumers")
        assert "namespace" not in query
        result = prometheus.query(query)
        assert result == [
            {"metric": {"cluster": "e2e", "consumergroup": groups[name]}, "value": lag}
        ], query  # one series, the group's total over topics, not doubled by two replicas
    both = {
        "matchExpressions": [
            {
                "key": "consumergroup",
                "operator": "In",
                "values": [groups["orders"], groups["billing"]],
            }
        ]
    }
    result = prometheus.query(build_external_query(rule, both, "consumers"))
    assert sorted((r["metric"]["consumergroup"], r["value"]) for r in result) == [
        (groups["billing"], 1.0), (groups["orders"], 9.0),
    ]  # fmt: skip


def test_namespaced_rule_matches_only_the_exporters_namespace(
    stack: tuple[PrometheusServer, dict[str, str]],
) -> None:
    prometheus, groups = stack
    rule = rule_for(ADAPTER_NAMESPACED, "kafka_consumergroup_lag_sum")
    selector = {"matchLabels": {"consumergroup": groups["orders"]}}
    in_shop = build_external_query(rule, selector, EXPORTER_NAMESPACE)
    assert f'namespace="{EXPORTER_NAMESPACE}"' in in_shop
    assert prometheus.query(in_shop) == [
        {"metric": {"cluster": "e2e", "consumergroup": groups["orders"]}, "value": 9.0}
    ]
    assert prometheus.query(build_external_query(rule, selector, "payments")) == []


def test_dashboard_and_alert_queries_run_on_real_data(
    stack: tuple[PrometheusServer, dict[str, str]],
) -> None:
    """Every dashboard query and alert expression is valid for Prometheus itself; the lag panels
    show the groups' real numbers, folded over the two replicas."""
    prometheus, groups = stack
    prefix = groups["orders"].rsplit("-", 1)[0]
    dashboard = json.loads((CHART / "dashboards" / "kafka-health-exporter.json").read_text())
    values = {"cluster": "e2e", "consumergroup": f"{prefix}-.*"}

    def substitute(expr: str) -> str:
        expr = re.sub(r"\$\{?__rate_interval\}?", "1m", expr)
        return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), ".*"), expr)

    results, by_ref = {}, {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            result = prometheus.query(substitute(target["expr"]))
            results[panel["title"]] = by_ref[(panel["title"], target["refId"])] = result
    lag = {
        (r["metric"]["consumergroup"], r["metric"]["topic"]): r["value"]
        for r in results["Lag by group and topic"]
    }
    assert lag == {
        (groups["orders"], f"{prefix}-a"): 7.0,
        (groups["orders"], f"{prefix}-b"): 2.0,
        (groups["billing"], f"{prefix}-a"): 1.0,
        (groups["idle"], f"{prefix}-a"): 0.0,
    }
    assert len(results["Lag by partition"]) == 6

    def per_topic(title: str, ref: str = "A") -> dict[str, float]:
        return {r["metric"]["topic"]: r["value"] for r in by_ref[(title, ref)]}

    topics = {f"{prefix}-a", f"{prefix}-b"}
    assert per_topic("Partitions per topic") == {f"{prefix}-a": 2.0, f"{prefix}-b": 1.0}
    # one broker, replication factor 1: every partition fully in sync on its preferred leader
    assert [r["value"] for r in results["Brokers"]] == [1.0]
    assert per_topic("Under-replicated partitions") == dict.fromkeys(topics, 0.0)
    assert per_topic("Partitions not on their preferred leader") == dict.fromkeys(topics, 0.0)
    assert per_topic("In-sync replicas (lowest partition) and replicas") == dict.fromkeys(
        topics, 1.0
    )
    assert per_topic("In-sync replicas (lowest partition) and replicas", "B") == dict.fromkeys(
        topics, 1.0
    )
    assert results["Partitions without a leader"] == []
    up = results["Collectors up"]
    assert [(r["metric"]["collector"], r["value"]) for r in up] == [("e2e", 1.0)]
    for group in rule_groups():
        for rule in group["rules"]:
            prometheus.query(rule["expr"])  # raises unless Prometheus accepts it

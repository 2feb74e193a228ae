"""Every metric name the alert rules, the Grafana dashboard and the adapter config use exists in
the exporter, asked of the code's own catalogue (`all_metric_specs()`), never a hand-kept list.
PromQL is parsed with promql-parser, so a name inside any expression is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.exposition.catalogue import all_metric_specs
from tests.support.metric_names import (
    DASHBOARD,
    adapter_queries,
    dashboard_queries,
    grafana_to_promql,
    metric_names,
    rule_exprs,
    unknown,
)

SHARE_GROUP_METRICS = {
    "kafka_sharegroup_lag", "kafka_sharegroup_lag_sum", "kafka_sharegroup_start_offset",
    "kafka_sharegroup_members", "kafka_sharegroup_state",
}  # fmt: skip
REPLICATION_METRICS = {
    "kafka_topic_partition_in_sync_replica", "kafka_topic_partition_under_replicated_partition",
    "kafka_topic_partition_leader_is_preferred", "kafka_topic_partition_leader",
    "kafka_topic_partition_replicas", "kafka_brokers",
}  # fmt: skip
# Dashboard 7589's panels (tests/e2e/test_kafka_parity.py has its queries): title here -> the
# metric it reads and the labels it is broken down by.
PANELS_OF_7589 = {
    "Messages in per second": ("kafka_topic_partition_current_offset", "by (cluster, topic)"),
    "Messages in per minute": ("kafka_topic_partition_current_offset", "by (cluster, topic)"),
    "Messages consumed per minute": (
        "kafka_consumergroup_current_offset", "by (cluster, consumergroup, topic)",
    ),
    "Lag by group and topic": ("kafka_consumergroup_lag_sum", "by (cluster, consumergroup, topic)"),
    "Partitions per topic": ("kafka_topic_partitions", "by (cluster, topic)"),
}  # fmt: skip
# Series of the kafka collector (a panel selecting one must honour the job/instance variables).
KAFKA_COLLECTOR_PREFIXES = (
    "kafka_broker",
    "kafka_topic",
    "kafka_consumergroup",
    "kafka_sharegroup",
)
# Series with a `topic` label (a panel selecting one must honour the `topic` variable): the
# catalogue's, and the share-group series of the contract.
TOPIC_LABELLED = {n for n, spec in all_metric_specs().items() if "topic" in spec.labels} | {
    "kafka_sharegroup_lag", "kafka_sharegroup_lag_sum", "kafka_sharegroup_start_offset",
}  # fmt: skip


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
    assert {"cluster", "consumergroup", "job", "instance", "topic", "sharegroup"} <= set(variables)
    order = [v["name"] for v in dashboard["templating"]["list"]]
    assert (
        order.index("job") < order.index("instance") < order.index("cluster") < order.index("topic")
    )
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
    by_title = {p["title"]: [t["expr"] for t in p["targets"]] for p in panels}
    for title, (metric, breakdown) in PANELS_OF_7589.items():
        assert title in by_title, f"dashboard 7589's panel {title!r} is missing"
        (expr,) = by_title[title]
        assert metric in metric_names(grafana_to_promql(expr)), title
        assert breakdown in expr, title
    assert "rate(kafka_topic_partition_current_offset" in by_title["Messages in per second"][0]
    exprs = [e for found in by_title.values() for e in found]
    names_used = set().union(*(metric_names(grafana_to_promql(e)) for e in exprs))
    assert names_used >= REPLICATION_METRICS
    assert SHARE_GROUP_METRICS | {"kafka_consumergroup_info"} <= names_used
    for panel in panels:
        for target in panel["targets"]:
            names = metric_names(grafana_to_promql(target["expr"]))
            if any(n.startswith(KAFKA_COLLECTOR_PREFIXES) for n in names):
                assert "$job" in target["expr"] and "$instance" in target["expr"], panel["title"]
            if names & TOPIC_LABELLED:
                assert "$topic" in target["expr"], panel["title"]
            if any(n.startswith("kafka_sharegroup") for n in names):
                assert "$sharegroup" in target["expr"], panel["title"]
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

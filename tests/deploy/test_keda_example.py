"""The KEDA ScaledObject example (charts/kafka-health-exporter/examples/keda-scaledobject.yaml):
checked against what KEDA's CRD and Prometheus scaler require, and its exact query run against a
real Prometheus scraping two exporter replicas on a real Kafka broker, through every phase a
scale-to-zero consumer goes through (never committed, caught up, lagging, exporter gone)."""

from __future__ import annotations

import asyncio
import math
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from exporter.exposition.catalogue import all_metric_specs
from tests.support.chart_render import CHART
from tests.support.exporter_process import ExporterProcess, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce
from tests.support.metric_names import metric_names
from tests.support.prometheus_server import PrometheusServer

EXAMPLE = CHART / "examples" / "keda-scaledobject.yaml"

# From KEDA v2.20.2, config/crd/bases/keda.sh_scaledobjects.yaml (the ScaledObject CRD,
# group keda.sh, version v1alpha1): openAPIV3Schema requires `spec`; spec requires
# `scaleTargetRef` and `triggers` (an array, minItems 1) and has only these properties;
# scaleTargetRef requires `name`; a trigger requires `type` (minLength 1) and `metadata` (an object
# of strings only); the replica counts are int32 with the minimums below.
CRD_SPEC_KEYS = {
    "advanced", "cooldownPeriod", "fallback", "idleReplicaCount", "initialCooldownPeriod",
    "maxReplicaCount", "minReplicaCount", "pollingInterval", "scaleTargetRef", "triggers",
}  # fmt: skip
CRD_SPEC_REQUIRED = {"scaleTargetRef", "triggers"}
CRD_TARGET_KEYS = {"apiVersion", "envSourceContainerName", "kind", "name"}
CRD_TRIGGER_KEYS = {
    "authenticationRef",
    "metadata",
    "metricType",
    "name",
    "type",
    "useCachedMetrics",
}
CRD_TRIGGER_REQUIRED = {"metadata", "type"}
CRD_MINIMUMS = {
    "minReplicaCount": 0, "maxReplicaCount": 1, "pollingInterval": 1, "cooldownPeriod": 0,
    "idleReplicaCount": 0,
}  # fmt: skip
METRIC_TYPES = {"Value", "AverageValue", "Utilization"}
# From KEDA v2.20.2, pkg/scalers/prometheus_scaler.go (prometheusMetadata): required and optional
# trigger metadata of the Prometheus scaler. The query must return zero or one series (several are
# an error); zero is 0 with ignoreNullValues (default true), an error without.
PROMETHEUS_REQUIRED = {"serverAddress", "query", "threshold"}
PROMETHEUS_OPTIONAL = {
    "activationThreshold", "namespace", "customHeaders", "queryParameters", "ignoreNullValues",
    "unsafeSsl", "awsRegion", "timeout", "identityOwner",
}  # fmt: skip
# README's rewrite of kafka_exporter's `kafka_consumergroup_lag == -1` (partitions of a consumed
# topic without a commit), run here on the same data.
UNCOMMITTED = (
    "max by (cluster, topic) (kafka_topic_partitions) - on (cluster, topic) group_right "
    "count by (cluster, consumergroup, topic) "
    "(max by (cluster, consumergroup, topic, partition) (kafka_consumergroup_current_offset)) > 0"
)
README = CHART.parent.parent / "README.md"
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def scaled_object() -> dict[str, Any]:
    (doc,) = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    return dict(doc)


def trigger() -> dict[str, Any]:
    (only,) = scaled_object()["spec"]["triggers"]
    return dict(only)


def query_labels(query: str) -> dict[str, set[str]]:
    """label -> every value an equality matcher of the query gives it."""
    found: dict[str, set[str]] = {}
    for name, value in re.findall(r'(\w+)="([^"]*)"', query):
        found.setdefault(name, set()).add(value)
    return found


def test_scaled_object_has_what_kedas_crd_requires() -> None:
    doc = scaled_object()
    assert doc["apiVersion"] == "keda.sh/v1alpha1" and doc["kind"] == "ScaledObject"
    assert DNS_1123.match(doc["metadata"]["name"]) and DNS_1123.match(doc["metadata"]["namespace"])
    spec = doc["spec"]
    assert CRD_SPEC_REQUIRED <= set(spec) <= CRD_SPEC_KEYS, set(spec) ^ CRD_SPEC_KEYS
    target = spec["scaleTargetRef"]
    assert target["name"] and set(target) <= CRD_TARGET_KEYS
    for key, minimum in CRD_MINIMUMS.items():
        if key in spec:
            assert isinstance(spec[key], int) and spec[key] >= minimum, key
            assert spec[key] < 2**31, key
    assert spec["minReplicaCount"] == 0, "the example scales to zero"
    assert spec["maxReplicaCount"] >= 1
    assert isinstance(spec["triggers"], list) and len(spec["triggers"]) >= 1
    for item in spec["triggers"]:
        assert CRD_TRIGGER_REQUIRED <= set(item) <= CRD_TRIGGER_KEYS, item
        assert isinstance(item["type"], str) and len(item["type"]) >= 1
        assert all(isinstance(v, str) for v in item["metadata"].values()), (
            "the CRD types trigger metadata as a map of strings: quote numbers and booleans"
        )
        assert item.get("metricType", "AverageValue") in METRIC_TYPES


def test_prometheus_trigger_metadata_is_what_the_scaler_reads() -> None:
    item = trigger()
    assert item["type"] == "prometheus"
    meta = item["metadata"]
    assert PROMETHEUS_REQUIRED <= set(meta) <= PROMETHEUS_REQUIRED | PROMETHEUS_OPTIONAL
    threshold, activation = float(meta["threshold"]), float(meta["activationThreshold"])
    assert threshold > activation >= 0
    assert meta["ignoreNullValues"] == "false", "no data must never read as 0 (scale to zero)"
    assert meta["serverAddress"].startswith(("http://", "https://"))
    query = meta["query"]
    assert metric_names(query) <= set(all_metric_specs())
    labels = query_labels(query)
    assert labels["consumergroup"] == {"orders"} and labels["topic"] == {"orders"}
    assert labels["cluster"] == {"prod"}
    assert query.lstrip().startswith("sum("), "one series: the trigger errors on several"


# --- the exact query on real data ---------------------------------------------------------------


def keda_value(prometheus: PrometheusServer, query: str) -> float | None:
    """What KEDA's Prometheus scaler reads: None for an empty result (an error with
    ignoreNullValues false), the value of the single series, or a failure on several."""
    result = prometheus.query(query)
    assert len(result) <= 1, f"KEDA refuses several series: {result}"
    if not result:
        return None
    assert result[0]["metric"] == {}, result
    value: float = result[0]["value"]
    return value


def test_readme_shows_the_queries_tested_here() -> None:
    text = README.read_text()
    assert f"`{UNCOMMITTED}`" in text
    query = " ".join(trigger()["metadata"]["query"].split())
    assert query in " ".join(text.split()), "README's KEDA query is not the example's"


def uncommitted(prometheus: PrometheusServer) -> dict[tuple[str, str], float]:
    return {
        (r["metric"]["consumergroup"], r["metric"]["topic"]): r["value"]
        for r in prometheus.query(UNCOMMITTED)
    }


def test_exact_query_through_scale_to_zero(own_broker: KafkaCluster, tmp_path: Path) -> None:
    doc = scaled_object()
    meta = trigger()["metadata"]
    query = meta["query"]
    threshold, activation = float(meta["threshold"]), float(meta["activationThreshold"])
    partitions = doc["spec"]["maxReplicaCount"]
    bootstrap = own_broker.bootstrap
    asyncio.run(create_topics(bootstrap, {"orders": partitions, "payments": 1}))
    asyncio.run(produce(bootstrap, "orders", {0: 30, 1: 20}))
    asyncio.run(produce(bootstrap, "payments", {0: 40}))
    # another group on the same topic, and the same group on another topic: not counted
    asyncio.run(commit(bootstrap, "billing", {("orders", 0): 0, ("orders", 1): 0}))
    asyncio.run(commit(bootstrap, "orders", {("payments", 0): 0}))
    config = f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: prod
    type: kafka
    bootstrap_servers: "{bootstrap}"
    cluster: prod
"""

    def settles(expected: float | None, what: str) -> None:
        wait_for(
            lambda: keda_value(prometheus, query) == expected,
            40,
            what=f"{what}: {query} == {expected} (now {prometheus.query(query)})",
        )

    with ExitStack() as stack:
        replicas = [stack.enter_context(ExporterProcess(config, tmp_path)) for _ in range(2)]
        for exporter in replicas:
            exporter.wait_ready()
        scrape = {
            "job_name": "kafka-health-exporter",
            "static_configs": [{"targets": [f"127.0.0.1:{e.port}" for e in replicas]}],
        }
        prometheus = stack.enter_context(PrometheusServer(tmp_path, [scrape]))
        wait_for(
            lambda: len(prometheus.query('kafka_topic_partitions{topic="orders"}')) == 2,
            40,
            what=f"both replicas scraped; {prometheus.log()[-2000:]}",
        )

        # 1. "orders" never committed on the topic: no lag series; the retained records count
        settles(50.0, "never committed")
        assert activation < 50.0, "KEDA activates the scaled-to-zero consumers"
        assert not prometheus.query(
            'kafka_consumergroup_lag{consumergroup="orders",topic="orders"}'
        )
        # billing committed on 2 of the topic's partitions; orders committed nothing on it (no
        # series, as kafka_exporter), and its one partition of "payments"
        assert uncommitted(prometheus) == {("billing", "orders"): partitions - 2.0}

        # 2. caught up: 0, at or below the activation threshold, so KEDA goes back to zero
        asyncio.run(commit(bootstrap, "orders", {("orders", 0): 30, ("orders", 1): 20}))
        settles(0.0, "caught up")
        assert activation >= 0.0
        wait_for(
            lambda: (
                uncommitted(prometheus)
                == {("billing", "orders"): partitions - 2.0, ("orders", "orders"): partitions - 2.0}
            ),
            20,
            what=f"uncommitted partitions: {uncommitted(prometheus)}",
        )

        # 3. lagging on two partitions: the lag, not doubled by the two exporter replicas
        asyncio.run(produce(bootstrap, "orders", {0: 15, 2: 7}))
        # partition 2 has no commit yet: its 7 retained records count, partition 0 its lag of 15
        settles(22.0, "lagging")
        assert activation < 22.0
        assert min(partitions, math.ceil(22.0 / threshold)) == 1  # KEDA's AverageValue replicas

        # 4. the exporter gone: every series goes stale and the result is empty, which
        # ignoreNullValues "false" turns into an error: KEDA keeps the replicas it has
        for exporter in replicas:
            exporter.stop()
        settles(None, "exporters stopped")

"""README's "Scale out" queries, run verbatim against a real Prometheus scraping three sharded
exporters (cluster label `sharded`) and one unsharded exporter (cluster `whole`) of the same real
Kafka 4.x groups: every query answers the same for both; so do the prometheus-adapter rule README
quotes, the chart's lag alerts and its dashboard panels. The shard alert is silent while every
shard reports and fires once one stops."""

from __future__ import annotations

import json
import re
import textwrap
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from exporter.collectors.kafka.shard import shard_of
from exporter.config.loader import parse_config
from tests.support.adapter_query import build_external_query, rules_of
from tests.support.chart_render import CHART, ROOT, rule_groups
from tests.support.exporter_process import ExporterProcess, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit_many, create_topics, produce, unique
from tests.support.prometheus_server import PrometheusServer

README = ROOT / "README.md"
SECTION = "#### Scale out: several replicas share one cluster"
ADAPTER = yaml.safe_load((CHART / "adapter" / "values.yaml").read_text())
DASHBOARD = json.loads((CHART / "dashboards" / "kafka-health-exporter.json").read_text())
SHARDS, PER_SHARD = 3, 4
ALERT = f"count by (job, collector) (kafka_health_exporter_shard_info) < {SHARDS}"
TOLERANCE = 5.0  # lag seconds grow with the clock; each exporter computes them at its own refresh
TOPICS = {"t0": [6, 7, 8], "t1": [5, 6]}  # records per partition
Answers = dict[frozenset[tuple[str, str]], float]


def section() -> str:
    return README.read_text().split(SECTION, 1)[1].split("\n#### ", 1)[0]


def readme_queries() -> list[str]:
    """The PromQL lines of the section's promql block (comments left out)."""
    block = section().split("```promql\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def adapter_lag_rule() -> dict[str, Any]:
    (rule,) = [r for r in rules_of(ADAPTER) if '"kafka_consumergroup_lag_sum"' in r["seriesQuery"]]
    return dict(rule)


def test_readme_shows_these_queries_and_the_charts_adapter_rule() -> None:
    queries = readme_queries()
    assert len(queries) == 6 and ALERT in queries, queries
    assert "sum by (cluster, consumergroup) (kafka_consumergroup_lag_sum)" in queries
    example = section().split("```yaml\n")[1].split("```", 1)[0]
    parsed = parse_config("collectors:\n" + example, "README.md", env={"POD_NAME": "khe-2"})
    assert "shard 2 of 3" in parsed.collectors[0].summary()
    block = section().split("```yaml\n")[2].split("```", 1)[0]
    (quoted,) = yaml.safe_load(textwrap.dedent(block))
    rule = adapter_lag_rule()
    assert quoted["seriesQuery"] == rule["seriesQuery"]
    assert quoted["metricsQuery"].split() == rule["metricsQuery"].split()


def plan(prefix: str) -> dict[str, dict[tuple[str, int], int]]:
    """PER_SHARD groups of every shard -> committed offsets; lag 0 to 7 per partition."""
    groups: dict[str, dict[tuple[str, int], int]] = {}
    taken = [0] * SHARDS
    i = 0
    while min(taken) < PER_SHARD:
        name, shard = f"{prefix}-g{i:02d}", shard_of(f"{prefix}-g{i:02d}", SHARDS)
        if taken[shard] < PER_SHARD:
            taken[shard] += 1
            j = len(groups)
            offsets = {(f"{prefix}-t0", j % 3): TOPICS["t0"][j % 3] - j % 4}
            if j % 2:
                offsets[(f"{prefix}-t1", j % 2)] = 1
            groups[name] = offsets
        i += 1
    return groups


def expected_lag(prefix: str, groups: dict[str, dict[tuple[str, int], int]]) -> Answers:
    out: Answers = {}
    for group, offsets in groups.items():
        total = sum(TOPICS[t.removeprefix(f"{prefix}-")][p] - o for (t, p), o in offsets.items())
        out[frozenset({("consumergroup", group)})] = float(total)
    return out


def config(bootstrap: str, prefix: str, cluster: str, sharded: bool) -> str:
    shard = f"\n    shard:\n      count: {SHARDS}\n      index: ${{POD_NAME}}" if sharded else ""
    return f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: lag
    type: kafka
    bootstrap_servers: "{bootstrap}"
    cluster: {cluster}
    groups: {{include: ["{prefix}-g.*"]}}
    topics: {{include: ["{prefix}-t.*"]}}{shard}
"""


def by_cluster(prometheus: PrometheusServer, query: str) -> dict[str, Answers]:
    """The query's result per `cluster` label, without it."""
    out: dict[str, Answers] = {"sharded": {}, "whole": {}}
    for row in prometheus.query(query):
        labels = dict(row["metric"])
        out[labels.pop("cluster")][frozenset(labels.items())] = row["value"]
    return out


def assert_same(prometheus: PrometheusServer, query: str, nonempty: bool = True) -> Answers:
    """The query answers the same for the shards as for the unsharded exporter."""
    got = by_cluster(prometheus, query)
    sharded, whole = got["sharded"], got["whole"]
    assert set(sharded) == set(whole), (query, got)
    assert whole or not nonempty, f"{query}: no answer"
    for key, value in whole.items():
        limit = TOLERANCE if "lag_seconds" in query else 0.0
        assert abs(sharded[key] - value) <= limit, (query, key, sharded[key], value)
    return sharded


def dashboard_queries() -> list[str]:
    """Every dashboard panel's query with the variables at All (`.*`), status panels left out
    (a status depends on when each exporter started watching)."""
    out = []
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            expr = re.sub(r"\$\{?__rate_interval\}?", "1m", target["expr"])
            out.append(re.sub(r"\$\{?(\w+)\}?", ".*", expr))
    return [q for q in out if 'cluster=~".*"' in q and "status" not in q]


def lag_alert_queries() -> list[str]:
    """The chart's lag alert expressions with threshold 0, so that every lagging group fires."""
    zero = {k: {"threshold": 0} for k in ("consumerLag", "consumerLagSeconds", "shareGroupLag")}
    rules = [r for g in rule_groups({"prometheusRule": {"alerts": zero}}) for r in g["rules"]]
    return [r["expr"] for r in rules if r.get("alert", "").startswith("KafkaConsumerGroupLag")]


async def test_readme_queries_answer_the_same_across_shards(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    prefix = unique("shq")
    await create_topics(kafka4.bootstrap, {f"{prefix}-{t}": len(c) for t, c in TOPICS.items()})
    for topic, counts in TOPICS.items():
        await produce(kafka4.bootstrap, f"{prefix}-{topic}", dict(enumerate(counts)), batch=True)
    groups = plan(prefix)
    await commit_many(kafka4.bootstrap, groups)
    expected = expected_lag(prefix, groups)
    pairs = len({(g, t) for g, offsets in groups.items() for t, _ in offsets})

    with ExitStack() as stack:
        shards = [
            stack.enter_context(
                ExporterProcess(
                    config(kafka4.bootstrap, prefix, "sharded", sharded=True),
                    tmp_path,
                    env={"POD_NAME": f"khe-kafka-health-exporter-{index}"},
                )
            )
            for index in range(SHARDS)
        ]
        whole = stack.enter_context(
            ExporterProcess(config(kafka4.bootstrap, prefix, "whole", sharded=False), tmp_path)
        )
        targets = [f"127.0.0.1:{e.port}" for e in [*shards, whole]]
        scrape = {"job_name": "kafka-health-exporter", "static_configs": [{"targets": targets}]}
        prometheus = stack.enter_context(PrometheusServer(tmp_path, [scrape]))

        def settled() -> bool:
            for query, count in (
                ("kafka_consumergroup_lag_sum", pairs),
                ("kafka_consumergroup_lag_seconds_max", len(groups)),
                ("kafka_topic_partitions", len(TOPICS)),
            ):
                got = by_cluster(prometheus, query)
                assert [len(got["sharded"]), len(got["whole"])] == [count, count], (query, got)
            return len(prometheus.query("kafka_health_exporter_shard_info")) == SHARDS

        wait_for(settled, 60, what=f"every series in Prometheus; log: {prometheus.log()[-2000:]}")

        queries = readme_queries()
        for query in queries:
            if query != ALERT:
                assert_same(prometheus, query)
        lag = assert_same(prometheus, queries[0])
        assert lag == expected, "the README's sum is each group's lag, once"
        seconds = assert_same(prometheus, queries[1])
        assert all((seconds[k] > 0) == (v > 0) for k, v in expected.items()), seconds
        brokers = assert_same(prometheus, "max by (cluster) (kafka_brokers)")
        assert list(brokers.values()) == [1.0]
        assert prometheus.query(ALERT) == [], "every shard reports"

        rule = adapter_lag_rule()
        firsts = {shard_of(g, SHARDS): g for g in reversed(list(groups))}  # one group per shard
        for name in firsts.values():
            total = expected[frozenset({("consumergroup", name)})]
            answers = [
                prometheus.query(
                    build_external_query(
                        rule, {"matchLabels": {"cluster": cluster, "consumergroup": name}}, "ns"
                    )
                )
                for cluster in ("sharded", "whole")
            ]
            assert [[r["value"] for r in a] for a in answers] == [[total], [total]], answers
        for query in [*lag_alert_queries(), *dashboard_queries()]:
            # rate() and delta() need two samples of every target: the targets' first scrapes
            # fall at different moments, so wait for that (bounded) before comparing
            def same(q: str = query) -> bool:
                return assert_same(prometheus, q, nonempty=False) is not None

            wait_for(same, 20, what=f"the same answer for {query}")

        # shard 2 stops: its groups vanish from the sums, and the shard alert fires
        shards[2].stop()
        fired = [{"metric": {"job": "kafka-health-exporter", "collector": "lag"}, "value": 2.0}]
        wait_for(lambda: prometheus.query(ALERT) == fired, 30, what=f"{ALERT} firing")
        left = {k for k in expected if shard_of(dict(k)["consumergroup"], SHARDS) != 2}
        wait_for(
            lambda: set(by_cluster(prometheus, queries[0])["sharded"]) == left,
            30,
            what="shard 2's groups gone",
        )

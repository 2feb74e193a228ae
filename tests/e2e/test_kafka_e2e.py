"""End to end through the CLI against real brokers (Kafka 4.x, and for exact values also Kafka 3.9.x
and Tansu): exact values, filters, new commits, staleness, two clusters."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.exporter_process import ExporterProcess, select, value, wait_for
from tests.support.kafka_cluster import Broker, KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique


def _config(bootstrap: str, name: str, topic_prefix: str, group_prefix: str) -> str:
    return f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: {name}
    type: kafka
    bootstrap_servers: "{bootstrap}"
    cluster: c-{name}
    labels: {{env: test}}
    groups: {{include: ["{group_prefix}.*"], exclude: [".*-excluded"]}}
    topics: {{include: ["{topic_prefix}.*"], exclude: [".*-hidden"]}}
"""


async def test_exact_values_filters_and_refresh(any_broker: Broker, tmp_path: Path) -> None:
    broker = any_broker
    batch = isinstance(broker, KafkaCluster)  # real high watermarks after a batch (not on Tansu)
    prefix = unique("orders")
    main, other, hidden = f"{prefix}-main", f"{prefix}-other", f"{prefix}-hidden"
    groups = unique("g")
    g1, g2, excluded = f"{groups}-one", f"{groups}-two", f"{groups}-excluded"
    await create_topics(broker.bootstrap, {main: 3, other: 2, hidden: 1})
    await produce(broker.bootstrap, main, {0: 5, 1: 3, 2: 0}, batch=batch)
    await produce(broker.bootstrap, other, {0: 2}, batch=batch)
    await produce(broker.bootstrap, hidden, {0: 1}, batch=batch)
    await commit(broker.bootstrap, g1, {(main, 0): 2, (main, 1): 3, (other, 0): 1})
    await commit(broker.bootstrap, g2, {(main, 0): 5})
    await commit(broker.bootstrap, excluded, {(main, 0): 1})
    await commit(broker.bootstrap, f"{groups}-hiddenonly", {(hidden, 0): 0})

    with ExporterProcess(_config(broker.bootstrap, "k1", prefix, groups), tmp_path) as exporter:
        exporter.wait_ready()
        m = exporter.metrics()
        c = {"cluster": "c-k1", "env": "test"}
        assert value(m, "kafka_brokers", **c) == 1
        assert value(m, "kafka_topic_partitions", topic=main, **c) == 3
        assert value(m, "kafka_topic_partitions", topic=other, **c) == 2
        assert select(m, "kafka_topic_partitions", topic=hidden) == {}
        for partition, end in {0: 5, 1: 3, 2: 0}.items():
            assert (
                value(
                    m,
                    "kafka_topic_partition_current_offset",
                    topic=main,
                    partition=str(partition),
                    **c,
                )
                == end
            )
            assert (
                value(
                    m,
                    "kafka_topic_partition_oldest_offset",
                    topic=main,
                    partition=str(partition),
                    **c,
                )
                == 0
            )

        def lag(group: str, topic: str, partition: int) -> float | None:
            return value(
                m,
                "kafka_consumergroup_lag",
                consumergroup=group,
                topic=topic,
                partition=str(partition),
                **c,
            )

        assert (
            value(
                m,
                "kafka_consumergroup_current_offset",
                consumergroup=g1,
                topic=main,
                partition="0",
                **c,
            )
            == 2
        )
        assert lag(g1, main, 0) == 3
        assert lag(g1, main, 1) == 0
        assert lag(g1, main, 2) is None  # no commit: no series, never -1
        assert lag(g1, other, 0) == 1
        assert lag(g2, main, 0) == 0
        assert select(m, "kafka_consumergroup_lag", consumergroup=g2, partition="1") == {}
        assert value(m, "kafka_consumergroup_lag_sum", consumergroup=g1, topic=main, **c) == 3
        assert value(m, "kafka_consumergroup_lag_sum", consumergroup=g1, topic=other, **c) == 1
        assert value(m, "kafka_consumergroup_lag_sum", consumergroup=g2, topic=main, **c) == 0
        assert value(m, "kafka_consumergroup_members", consumergroup=g1, **c) == 0
        assert select(m, "kafka_consumergroup_members", consumergroup=excluded) == {}
        assert select(m, "kafka_consumergroup_lag", consumergroup=excluded) == {}
        assert select(m, "kafka_consumergroup_lag", topic=hidden) == {}
        assert all(v >= 0 for (n, _), v in m.items() if n.startswith("kafka_consumergroup_lag"))
        assert value(m, "kafka_health_exporter_collector_up", collector="k1", type="kafka") == 1

        await produce(broker.bootstrap, main, {1: 4})
        await commit(broker.bootstrap, g1, {(main, 0): 5, (main, 1): 4})

        def refreshed() -> bool:
            m2 = exporter.metrics()
            return (
                value(
                    m2, "kafka_consumergroup_lag", consumergroup=g1, topic=main, partition="0", **c
                )
                == 0
                and value(
                    m2, "kafka_consumergroup_lag", consumergroup=g1, topic=main, partition="1", **c
                )
                == 3
                and value(m2, "kafka_consumergroup_lag_sum", consumergroup=g1, topic=main, **c) == 3
                and value(
                    m2, "kafka_topic_partition_current_offset", topic=main, partition="1", **c
                )
                == 7
            )

        wait_for(refreshed, 10, what="new commits in /metrics")
        assert exporter.stop() == 0


async def test_failure_isolation(broker: KafkaCluster, tmp_path: Path) -> None:
    topic, group = unique("iso"), unique("iso-g")
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 4})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    config = f"""
defaults: {{interval: 1s, timeout: 500ms}}
collectors:
  - {{name: good, type: kafka, bootstrap_servers: "{broker.bootstrap}", groups: {{include: ["{group}"]}}}}
  - {{name: bad, type: kafka, bootstrap_servers: "127.0.0.1:1"}}
"""
    with ExporterProcess(config, tmp_path) as exporter:

        def failures() -> float:
            found = value(
                exporter.metrics(),
                "kafka_health_exporter_collector_failures_total",
                collector="bad",
            )
            return found or 0.0

        wait_for(lambda: failures() >= 2, 15, what="bad collector failures")
        m = exporter.metrics()
        assert (
            value(m, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition="0")
            == 3
        )
        assert value(m, "kafka_health_exporter_collector_up", collector="good", type="kafka") == 1
        assert value(m, "kafka_health_exporter_collector_up", collector="bad", type="kafka") == 0
        first = value(m, "kafka_health_exporter_collector_failures_total", collector="bad")
        assert first is not None and first >= 1
        assert select(m, "kafka_brokers", cluster="bad") == {}
        assert exporter.get("/live")[0] == 200
        status, body = exporter.get_json("/ready")
        assert status == 503
        assert body["waiting_for"] == ["bad"]
        assert "bootstrap" in body["collectors"]["bad"]["last_error"].lower()
        assert body["collectors"]["good"]["up"] is True
        wait_for(lambda: failures() > first, 10, what="growing failure counter")
        assert (
            value(
                exporter.metrics(),
                "kafka_consumergroup_lag",
                consumergroup=group,
                topic=topic,
                partition="0",
            )
            == 3
        )


async def test_stale_series_vanish_and_come_back(own_broker: KafkaCluster, tmp_path: Path) -> None:
    topic, group = unique("stale"), unique("stale-g")
    await create_topics(own_broker.bootstrap, {topic: 1})
    await produce(own_broker.bootstrap, topic, {0: 3})
    await commit(own_broker.bootstrap, group, {(topic, 0): 1})
    config = f"""
collectors:
  - name: k
    type: kafka
    bootstrap_servers: "{own_broker.bootstrap}"
    interval: 1s
    timeout: 800ms
    stale_after: 4s
    health: true
"""
    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready()
        lag = {"consumergroup": group, "topic": topic, "partition": "0"}
        assert value(exporter.metrics(), "kafka_consumergroup_lag", **lag) == 2
        assert exporter.get("/health")[0] == 200
        own_broker.stop()
        # Failed refreshes keep the last values visible until stale_after ...
        wait_for(
            lambda: (
                value(exporter.metrics(), "kafka_health_exporter_collector_up", collector="k") == 0
            ),
            5,
            what="a failed refresh",
        )
        assert value(exporter.metrics(), "kafka_consumergroup_lag", **lag) == 2
        assert exporter.get("/health")[0] == 200
        # ... then the series vanish and /health (health: true) turns 503.
        wait_for(
            lambda: value(exporter.metrics(), "kafka_consumergroup_lag", **lag) is None,
            8,
            what="staleness",
        )
        assert select(exporter.metrics(), "kafka_brokers") == {}
        status, body = exporter.get_json("/health")
        assert status == 503 and body["unhealthy"] == ["k"]
        # The restarted broker has kept its log and offsets: the same lag comes back, then moves.
        own_broker.restart()
        wait_for(
            lambda: value(exporter.metrics(), "kafka_consumergroup_lag", **lag) == 2,
            20,
            what="recovery",
        )
        assert exporter.get("/health")[0] == 200
        await produce(own_broker.bootstrap, topic, {0: 5}, batch=True)
        wait_for(
            lambda: value(exporter.metrics(), "kafka_consumergroup_lag", **lag) == 7,
            10,
            what="new records after the restart",
        )


async def test_two_clusters_in_one_process(
    broker: KafkaCluster, own_broker: KafkaCluster, tmp_path: Path
) -> None:
    topic, group = unique("multi"), unique("multi-g")
    for b, committed in ((broker, 1), (own_broker, 2)):
        await create_topics(b.bootstrap, {topic: 1})
        await produce(b.bootstrap, topic, {0: 4})
        await commit(b.bootstrap, group, {(topic, 0): committed})
    config = f"""
defaults: {{interval: 1s, timeout: 800ms}}
collectors:
  - {{name: a, type: kafka, bootstrap_servers: "{broker.bootstrap}", groups: {{include: ["{group}"]}}}}
  - {{name: b, type: kafka, bootstrap_servers: "{own_broker.bootstrap}", groups: {{include: ["{group}"]}}}}
"""
    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready()
        m = exporter.metrics()
        assert (
            value(m, "kafka_consumergroup_lag", cluster="a", consumergroup=group, topic=topic) == 3
        )
        assert (
            value(m, "kafka_consumergroup_lag", cluster="b", consumergroup=group, topic=topic) == 2
        )
        assert (
            value(m, "kafka_brokers", cluster="a") == 1
            and value(m, "kafka_brokers", cluster="b") == 1
        )
    await asyncio.sleep(0)

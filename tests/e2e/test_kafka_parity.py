"""kafka_exporter parity: replication and broker series, the two config switches, dashboard 7589."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.protocol.metadata import MetadataResponse_v1

from exporter.collectors.kafka.metrics.cluster_metrics import to_metrics
from exporter.collectors.kafka.protocol.classic import decode_metadata
from exporter.collectors.kafka.read.topics import partition_infos, partitions_of
from exporter.collectors.kafka.state import ClusterState, GroupInfo
from exporter.exposition.catalogue import all_metric_specs
from tests.support.exporter_process import ExporterProcess, select, value, wait_for
from tests.support.kafka_cluster import Broker
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.support.metric_names import grafana_to_promql, metric_names


def _wire_metadata() -> MetadataResponse_v1:
    """A three-broker Metadata v1 response, encoded to wire bytes and decoded back."""
    response = MetadataResponse_v1(
        brokers=[
            (1, "kafka-1", 9092, None),
            (2, "kafka-2", 9092, "rack-b"),
            (3, "kafka-3", 9093, None),
        ],
        controller_id=1,
        topics=[
            (
                0,
                "orders",
                False,
                [
                    (0, 0, 1, [1, 2, 3], [1, 2, 3]),  # healthy, preferred leader
                    (
                        0,
                        1,
                        3,
                        [2, 3, 1],
                        [3, 1],
                    ),  # leader moved off its preferred replica, ISR short
                    (0, 2, -1, [3, 1, 2], []),  # offline: no leader
                ],
            ),
            (3, "unknown", False, []),  # UNKNOWN_TOPIC_OR_PARTITION: skipped
        ],
    )
    raw = response.encode()
    return MetadataResponse_v1.decode(io.BytesIO(raw))


def _samples(
    state: ClusterState, topic_metrics: bool = True
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in to_metrics(state, "prod", {}, topic_metrics)
        for s in f.samples
    }


def _get(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, frozenset({"cluster": "prod", **labels}.items())))


def _state() -> ClusterState:
    brokers, raw_topics = decode_metadata(_wire_metadata())
    topics = partitions_of(raw_topics, lambda name: True)
    newest = {("orders", 0): 10, ("orders", 1): 20}
    infos = partition_infos(topics, newest, {("orders", 0): 0, ("orders", 1): 5})
    groups = {"billing": GroupInfo(members=2, offsets={("orders", 0): 4, ("orders", 1): 15})}
    return ClusterState(brokers=tuple(brokers), topics=infos, groups=groups)


def test_multi_broker_metadata_conversion() -> None:
    s = _samples(_state())
    assert _get(s, "kafka_brokers") == 3
    assert _get(s, "kafka_broker_info", id="2", address="kafka-2:9092") == 1
    assert _get(s, "kafka_broker_info", id="3", address="kafka-3:9093") == 1
    p = {"topic": "orders"}
    assert _get(s, "kafka_topic_partitions", **p) == 3
    assert _get(s, "kafka_topic_partition_leader", partition="0", **p) == 1
    assert _get(s, "kafka_topic_partition_leader", partition="1", **p) == 3
    assert _get(s, "kafka_topic_partition_leader", partition="2", **p) is None  # no -1 sentinel
    assert _get(s, "kafka_topic_partition_replicas", partition="1", **p) == 3
    assert _get(s, "kafka_topic_partition_in_sync_replica", partition="0", **p) == 3
    assert _get(s, "kafka_topic_partition_in_sync_replica", partition="1", **p) == 2
    assert _get(s, "kafka_topic_partition_in_sync_replica", partition="2", **p) == 0
    assert _get(s, "kafka_topic_partition_leader_is_preferred", partition="0", **p) == 1
    assert _get(s, "kafka_topic_partition_leader_is_preferred", partition="1", **p) == 0
    assert _get(s, "kafka_topic_partition_leader_is_preferred", partition="2", **p) == 0
    assert _get(s, "kafka_topic_partition_under_replicated_partition", partition="0", **p) == 0
    assert _get(s, "kafka_topic_partition_under_replicated_partition", partition="1", **p) == 1
    assert _get(s, "kafka_topic_partition_under_replicated_partition", partition="2", **p) == 1
    assert _get(s, "kafka_consumergroup_current_offset_sum", consumergroup="billing", **p) == 19
    assert _get(s, "kafka_consumergroup_lag_sum", consumergroup="billing", **p) == 11
    assert not any(labels and dict(labels).get("topic") == "unknown" for _, labels in s)


def test_topic_metrics_off_keeps_only_brokers_and_groups() -> None:
    s = _samples(_state(), topic_metrics=False)
    names = {name for name, _ in s}
    assert not any(n.startswith("kafka_topic_") for n in names)
    assert {
        "kafka_brokers",
        "kafka_broker_info",
        "kafka_consumergroup_lag",
        "kafka_consumergroup_members",
    } <= names


# Grafana dashboard 7589 ("Kafka Exporter Overview"): its panel queries and template variables.
DASHBOARD_7589 = [
    "sum(rate(kafka_topic_partition_current_offset{instance='$instance', topic=~'$topic'}[1m])) by (topic)",
    "sum(kafka_consumergroup_lag{instance='$instance',topic=~'$topic'}) by (consumergroup, topic)",
    "sum(delta(kafka_topic_partition_current_offset{instance=~'$instance', topic=~'$topic'}[5m])/5) by (topic)",
    "sum(delta(kafka_consumergroup_current_offset{instance=~'$instance',topic=~'$topic'}[5m])/5) by (consumergroup, topic)",
    "sum by(topic) (kafka_topic_partitions{instance='$instance',topic=~'$topic'})",
    "kafka_consumergroup_current_offset",  # label_values(..., job)
    "kafka_consumergroup_current_offset{job=~'$job'}",  # label_values(..., instance)
    "kafka_topic_partition_current_offset{instance='$instance',topic!='__consumer_offsets',topic!='--kafka'}",
]


def test_every_metric_of_dashboard_7589_exists() -> None:
    known = set(all_metric_specs())
    used = set().union(*(metric_names(grafana_to_promql(q)) for q in DASHBOARD_7589))
    assert used == {
        "kafka_topic_partition_current_offset",
        "kafka_consumergroup_lag",
        "kafka_consumergroup_current_offset",
        "kafka_topic_partitions",
    }
    assert used <= known


async def test_replication_series_and_switches(any_broker: Broker, tmp_path: Path) -> None:
    broker = any_broker
    topic, groups = unique("parity"), unique("parity-g")
    idle, active = f"{groups}-idle", f"{groups}-active"
    await create_topics(broker.bootstrap, {topic: 2})
    await produce(broker.bootstrap, topic, {0: 3, 1: 2})
    await commit(broker.bootstrap, idle, {(topic, 0): 1, (topic, 1): 1})
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id=active,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        await consumer.getmany(timeout_ms=5000)
        await consumer.commit()
        config = f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: full
    type: kafka
    bootstrap_servers: "{broker.bootstrap}"
    groups: {{include: ["{groups}.*"]}}
    topics: {{include: ["{topic}"]}}
  - name: lean
    type: kafka
    bootstrap_servers: "{broker.bootstrap}"
    topic_metrics: false
    groups: {{include: ["{groups}.*"], only_active: true}}
    topics: {{include: ["{topic}"]}}
"""
        with ExporterProcess(config, tmp_path) as exporter:
            exporter.wait_ready()

            def active_seen() -> bool:
                return (
                    value(
                        exporter.metrics(),
                        "kafka_consumergroup_members",
                        cluster="lean",
                        consumergroup=active,
                    )
                    == 1
                )

            wait_for(active_seen, 20, what="the active group's member")
            m = exporter.metrics()
            full = {"cluster": "full", "topic": topic}
            info = select(m, "kafka_broker_info", cluster="full")
            assert len(info) == 1 and next(iter(info.values())) == 1
            labels = dict(next(iter(info)))
            assert labels["address"] == broker.bootstrap
            broker_id = labels["id"]
            for partition in ("0", "1"):
                assert value(m, "kafka_topic_partition_leader", partition=partition, **full) == int(
                    broker_id
                )
                assert value(m, "kafka_topic_partition_replicas", partition=partition, **full) == 1
                assert (
                    value(m, "kafka_topic_partition_in_sync_replica", partition=partition, **full)
                    == 1
                )
                assert (
                    value(
                        m, "kafka_topic_partition_leader_is_preferred", partition=partition, **full
                    )
                    == 1
                )
                assert (
                    value(
                        m,
                        "kafka_topic_partition_under_replicated_partition",
                        partition=partition,
                        **full,
                    )
                    == 0
                )
            assert (
                value(m, "kafka_consumergroup_current_offset_sum", consumergroup=idle, **full) == 2
            )
            assert value(m, "kafka_consumergroup_lag_sum", consumergroup=idle, **full) == 3
            # lean: no topic series, only groups with members
            assert not [
                k for k in m if k[0].startswith("kafka_topic_") and ("cluster", "lean") in k[1]
            ]
            assert select(m, "kafka_consumergroup_lag", cluster="lean", consumergroup=idle) == {}
            assert (
                value(
                    m,
                    "kafka_consumergroup_lag_sum",
                    cluster="lean",
                    consumergroup=active,
                    topic=topic,
                )
                == 0
            )
            assert value(m, "kafka_consumergroup_members", cluster="full", consumergroup=idle) == 0
            assert value(m, "kafka_brokers", cluster="lean") == 1
    finally:
        await consumer.stop()
    await asyncio.sleep(0)

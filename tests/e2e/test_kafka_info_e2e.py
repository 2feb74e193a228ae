"""The `cluster_info` and `topic_configs` options on three real Kafka 4.4 nodes with racks on two
of them: kafka_cluster_info carries the cluster id the nodes were formatted with (and the Java
ClusterTool prints), the active controller kafka-metadata-quorum names, steady over refreshes, racks per broker as server.properties set them, the highest API versions of
every broker; kafka_topic_config_info carries cleanup.policy and retention.ms as set on the topic,
the default for a topic without overrides, the empty value for an unknown config, and a config
changed with AlterConfigs on the next refresh. Off: none of these series, no
DescribeConfigs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client.core import Metric

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import unique
from tests.support.kafka_jars import KAFKA_4, java_command
from tests.support.kafka_node import KafkaNode

INFO_FAMILIES = {
    "kafka_cluster_info",
    "kafka_broker_rack_info",
    "kafka_broker_api_max_version",
    "kafka_topic_config_info",
}
RACKS = {1: "rack-a", 2: "rack-b"}
"""broker.rack of nodes 1 and 2; node 3 has none."""


class RackCluster(KafkaCluster):
    def _properties(self, node: KafkaNode) -> str:
        text = super()._properties(node)
        rack = RACKS.get(node.node_id)
        return text + (f"broker.rack={rack}\n" if rack else "")


@pytest.fixture(scope="module")
def racks() -> Iterator[KafkaCluster]:
    with RackCluster(version=KAFKA_4, size=3) as cluster:
        yield cluster


def samples(families: Iterable[Metric], name: str) -> list[tuple[dict[str, str], float]]:
    return [(dict(s.labels), s.value) for f in families if f.name == name for s in f.samples]


def cluster_tool_id(bootstrap: str) -> str:
    """`kafka-cluster cluster-id` (ClusterTool from Kafka's jars)."""
    command = java_command(
        KAFKA_4,
        "org.apache.kafka.tools.ClusterTool",
        "cluster-id",
        "--bootstrap-server",
        bootstrap.split(",")[0],
    )
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("Cluster ID:"))
    return line.split(":", 1)[1].strip()


def quorum_leader(bootstrap: str) -> str:
    """LeaderId of `kafka-metadata-quorum describe --status` (MetadataQuorumCommand)."""
    command = java_command(
        KAFKA_4,
        "org.apache.kafka.tools.MetadataQuorumCommand",
        "--bootstrap-server",
        bootstrap.split(",")[0],
        "describe",
        "--status",
    )
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("LeaderId:"))
    return line.split(":", 1)[1].strip()


def _config(bootstrap: str, topics: list[str], info: bool, configs: list[str]) -> KafkaConfig:
    return KafkaConfig.model_validate(
        {
            "name": "info",
            "type": "kafka",
            "bootstrap_servers": bootstrap.split(","),
            "cluster": "c1",
            "interval": 5.0,
            "timeout": 4.0,
            "topics": {"include": [f"^{t}$" for t in topics]},
            "time_lag": {"method": "off"},
            "cluster_info": info,
            "topic_configs": configs,
        }
    )


async def test_cluster_info_and_topic_configs(racks: KafkaCluster) -> None:
    bootstrap = racks.bootstrap
    compact, plain, excluded = unique("cfg-compact"), unique("cfg-plain"), unique("cfg-out")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    compact,
                    2,
                    1,
                    topic_configs={"cleanup.policy": "compact", "retention.ms": "3600000"},
                ),
                NewTopic(plain, 1, 1),
                NewTopic(excluded, 1, 1, topic_configs={"cleanup.policy": "compact"}),
            ]
        )
        names = ["cleanup.policy", "retention.ms", "no.such.config"]
        collector = KafkaCollector(_config(bootstrap, [compact, plain], True, names))
        try:
            refresh = await collector.fetch()
            families = collector.to_metrics(refresh)
            assert collector._reader.requests["DescribeConfigs"] == 1  # both topics, one batch

            (info, value), *more = samples(families, "kafka_cluster_info")
            assert not more and value == 1
            assert info["cluster_id"] == racks.cluster_id == cluster_tool_id(bootstrap)
            assert info["cluster"] == "c1"
            # the quorum leader, as kafka-metadata-quorum says, the same every refresh (Metadata's
            # controller_id is a random live broker on KRaft)
            assert info["controller_id"] == quorum_leader(bootstrap)
            for _ in range(5):
                again = samples(collector.to_metrics(await collector.fetch()), "kafka_cluster_info")
                assert again == [(info, 1)]
            rack_of = {
                labels["id"]: labels["rack"]
                for labels, v in samples(families, "kafka_broker_rack_info")
                if v == 1
            }
            assert rack_of == {"1": "rack-a", "2": "rack-b", "3": ""}
            api = {
                (labels["id"], labels["api"]): v
                for labels, v in samples(families, "kafka_broker_api_max_version")
            }
            assert {b for b, _ in api} == {"1", "2", "3"}
            # Kafka 4.4 speaks Metadata v13 and DescribeConfigs v4, every broker the same
            for node in ("1", "2", "3"):
                assert api[(node, "Metadata")] == 13
                assert api[(node, "DescribeConfigs")] == 4
                assert api[(node, "StreamsGroupDescribe")] >= 0
            assert sorted({a for _, a in api if a.isdigit()}) == []  # every key 4.4 offers is named

            configs = {
                labels["topic"]: labels
                for labels, _ in samples(families, "kafka_topic_config_info")
            }
            assert set(configs) == {compact, plain}  # the filter leaves `excluded` out
            assert configs[compact]["cleanup_policy"] == "compact"
            assert configs[compact]["retention_ms"] == "3600000"
            assert configs[compact]["no_such_config"] == ""
            assert configs[plain]["cleanup_policy"] == "delete"
            assert configs[plain]["retention_ms"] == "604800000"  # the broker default, 7 days

            await admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC,
                        compact,
                        {"cleanup.policy": "compact", "retention.ms": "7200000"},
                    )
                ]
            )
            changed = collector.to_metrics(await collector.fetch())
            after = {
                labels["topic"]: labels for labels, _ in samples(changed, "kafka_topic_config_info")
            }
            assert after[compact]["retention_ms"] == "7200000"
            assert after[compact]["cleanup_policy"] == "compact"
        finally:
            await collector.close()

        off = KafkaCollector(_config(bootstrap, [compact, plain], False, []))
        try:
            state = (await off.fetch()).state
            off_names = {family.name for family in off.to_metrics(await off.fetch())}
            assert off._reader.requests["DescribeConfigs"] == 0
        finally:
            await off.close()
        assert "kafka_topic_partition_current_offset" in off_names
        assert not off_names & INFO_FAMILIES
        assert state.topic_configs == {} and state.api_versions == {}
    finally:
        await admin.delete_topics([compact, plain, excluded])
        await admin.close()

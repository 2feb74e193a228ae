"""Info series of the `cluster_info` and `topic_configs` options: catalogue and pure conversion
from what one refresh read. Kafka does not send its software version on the wire; the highest
version of each API a broker offers (ApiVersions) is what tells brokers of different releases
apart."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.state import ClusterState

CLUSTER_INFO = MetricSpec(
    "kafka_cluster_info",
    "gauge",
    "1, with the cluster id and the active controller's node id from Metadata (cluster_info).",
    ("cluster", "cluster_id", "controller_id"),
)
BROKER_RACK = MetricSpec(
    "kafka_broker_rack_info",
    "gauge",
    "1 per broker, with its broker.rack from Metadata (empty when unset; cluster_info).",
    ("cluster", "id", "rack"),
)
BROKER_API_MAX = MetricSpec(
    "kafka_broker_api_max_version",
    "gauge",
    "Highest version of the API the broker offers, from its ApiVersions answer (cluster_info).",
    ("cluster", "id", "api"),
)
TOPIC_CONFIG_LABELS = ("cluster", "topic")
TOPIC_CONFIG_NAME = "kafka_topic_config_info"
TOPIC_CONFIG_HELP = (
    "1 per topic, with the configs named in topic_configs as labels (dots as underscores; empty "
    "where the broker has no such config), from DescribeConfigs."
)
TOPIC_CONFIG = MetricSpec(TOPIC_CONFIG_NAME, "gauge", TOPIC_CONFIG_HELP, TOPIC_CONFIG_LABELS)
"""The catalogue's entry; the series carry one more label per configured config name."""

CATALOGUE: tuple[MetricSpec, ...] = (CLUSTER_INFO, BROKER_RACK, BROKER_API_MAX, TOPIC_CONFIG)

API_KEYS: dict[int, str] = dict(
    enumerate(
        (
            *("Produce", "Fetch", "ListOffsets", "Metadata", "LeaderAndIsr", "StopReplica"),
            *("UpdateMetadata", "ControlledShutdown", "OffsetCommit", "OffsetFetch"),
            *("FindCoordinator", "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup"),
            *("DescribeGroups", "ListGroups", "SaslHandshake", "ApiVersions", "CreateTopics"),
            *("DeleteTopics", "DeleteRecords", "InitProducerId", "OffsetForLeaderEpoch"),
            *("AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "WriteTxnMarkers"),
            *("TxnOffsetCommit", "DescribeAcls", "CreateAcls", "DeleteAcls", "DescribeConfigs"),
            *("AlterConfigs", "AlterReplicaLogDirs", "DescribeLogDirs", "SaslAuthenticate"),
            *("CreatePartitions", "CreateDelegationToken", "RenewDelegationToken"),
            *("ExpireDelegationToken", "DescribeDelegationToken", "DeleteGroups"),
            *("ElectLeaders", "IncrementalAlterConfigs", "AlterPartitionReassignments"),
            *("ListPartitionReassignments", "OffsetDelete", "DescribeClientQuotas"),
            *("AlterClientQuotas", "DescribeUserScramCredentials", "AlterUserScramCredentials"),
            *("Vote", "BeginQuorumEpoch", "EndQuorumEpoch", "DescribeQuorum", "AlterPartition"),
            *("UpdateFeatures", "Envelope", "FetchSnapshot", "DescribeCluster"),
            *("DescribeProducers", "BrokerRegistration", "BrokerHeartbeat", "UnregisterBroker"),
            *("DescribeTransactions", "ListTransactions", "AllocateProducerIds"),
            *("ConsumerGroupHeartbeat", "ConsumerGroupDescribe", "ControllerRegistration"),
            *("GetTelemetrySubscriptions", "PushTelemetry", "AssignReplicasToDirs"),
            *("ListConfigResources", "DescribeTopicPartitions", "ShareGroupHeartbeat"),
            *("ShareGroupDescribe", "ShareFetch", "ShareAcknowledge", "AddRaftVoter"),
            *("RemoveRaftVoter", "UpdateRaftVoter", "InitializeShareGroupState"),
            *("ReadShareGroupState", "WriteShareGroupState", "DeleteShareGroupState"),
            *("ReadShareGroupStateSummary", "StreamsGroupHeartbeat", "StreamsGroupDescribe"),
            *("DescribeShareGroupOffsets", "AlterShareGroupOffsets", "DeleteShareGroupOffsets"),
            *("StreamsGroupTopologyDescriptionUpdate", "UnregisterController"),
        )
    )
)
"""Kafka's API names by key (Kafka 4.4's ApiKeys, the apiKey of each *Request.json; key 74 is
ListConfigResources since 4.1, ListClientMetricsResources before). A key not listed is named by
its number."""


def config_label(name: str) -> str:
    """The label of topic config `name`: dots as underscores (cleanup.policy -> cleanup_policy)."""
    return name.replace(".", "_")


def to_metrics(
    state: ClusterState,
    cluster: str,
    const: dict[str, str],
    cluster_info: bool,
    topic_configs: Sequence[str],
) -> list[Metric]:
    """Families of the options that are on (none of a family whose option is off)."""
    builders = []
    if cluster_info:
        info = CLUSTER_INFO.family(const)
        controller = "" if state.controller_id is None else str(state.controller_id)
        info.add((cluster, state.cluster_id or "", controller), 1)
        rack = BROKER_RACK.family(const)
        for broker in sorted(state.brokers, key=lambda b: b.node_id):
            rack.add((cluster, str(broker.node_id), broker.rack or ""), 1)
        api = BROKER_API_MAX.family(const)
        for node, versions in sorted(state.api_versions.items()):
            for key, high in sorted(versions.items()):
                api.add((cluster, str(node), API_KEYS.get(key, str(key))), high)
        builders += [info, rack, api]
    if topic_configs:
        labels = tuple(config_label(name) for name in topic_configs)
        spec = MetricSpec(
            TOPIC_CONFIG_NAME, "gauge", TOPIC_CONFIG_HELP, (*TOPIC_CONFIG_LABELS, *labels)
        )
        family = spec.family(const)
        for topic, values in sorted(state.topic_configs.items()):
            family.add((cluster, topic, *(values.get(name, "") for name in topic_configs)), 1)
        builders.append(family)
    return build_families(builders)

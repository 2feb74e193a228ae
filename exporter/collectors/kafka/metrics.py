"""Catalogue of the `kafka` collector's metrics and the pure conversion from ClusterState.

Names and labels follow danielqsj/kafka_exporter so existing dashboards keep working; every
series also carries `cluster` and the collector's constant labels.
"""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.catalogue import MetricSpec, build_families
from exporter.collectors.kafka.state import ClusterState

BROKERS = MetricSpec("kafka_brokers", "gauge", "Number of brokers in the cluster.", ("cluster",))
TOPIC_PARTITIONS = MetricSpec(
    "kafka_topic_partitions", "gauge", "Number of partitions of the topic.", ("cluster", "topic")
)
PARTITION_CURRENT_OFFSET = MetricSpec(
    "kafka_topic_partition_current_offset",
    "gauge",
    "High watermark (next offset to be written) of the partition.",
    ("cluster", "topic", "partition"),
)
PARTITION_OLDEST_OFFSET = MetricSpec(
    "kafka_topic_partition_oldest_offset",
    "gauge",
    "Oldest offset still in the partition (log start offset).",
    ("cluster", "topic", "partition"),
)
GROUP_CURRENT_OFFSET = MetricSpec(
    "kafka_consumergroup_current_offset",
    "gauge",
    "Committed offset of the consumer group on the partition.",
    ("cluster", "consumergroup", "topic", "partition"),
)
GROUP_LAG = MetricSpec(
    "kafka_consumergroup_lag",
    "gauge",
    "Messages the group has not committed yet on the partition (high watermark - committed, >= 0).",
    ("cluster", "consumergroup", "topic", "partition"),
)
GROUP_LAG_SUM = MetricSpec(
    "kafka_consumergroup_lag_sum",
    "gauge",
    "Lag of the consumer group summed over the topic's partitions it has committed on.",
    ("cluster", "consumergroup", "topic"),
)
GROUP_MEMBERS = MetricSpec(
    "kafka_consumergroup_members",
    "gauge",
    "Members of the consumer group (0 when its consumers are down).",
    ("cluster", "consumergroup"),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    BROKERS,
    TOPIC_PARTITIONS,
    PARTITION_CURRENT_OFFSET,
    PARTITION_OLDEST_OFFSET,
    GROUP_CURRENT_OFFSET,
    GROUP_LAG,
    GROUP_LAG_SUM,
    GROUP_MEMBERS,
)


def to_metrics(state: ClusterState, cluster: str, const_labels: dict[str, str]) -> list[Metric]:
    """Metric families for one refresh. Topics and groups in `state` are already filtered."""
    brokers = BROKERS.family(const_labels)
    partitions = TOPIC_PARTITIONS.family(const_labels)
    newest = PARTITION_CURRENT_OFFSET.family(const_labels)
    oldest = PARTITION_OLDEST_OFFSET.family(const_labels)
    committed = GROUP_CURRENT_OFFSET.family(const_labels)
    lag = GROUP_LAG.family(const_labels)
    lag_sum = GROUP_LAG_SUM.family(const_labels)
    members = GROUP_MEMBERS.family(const_labels)

    brokers.add([cluster], len(state.brokers))
    for topic, parts in sorted(state.topics.items()):
        partitions.add([cluster, topic], len(parts))
        for number, part in sorted(parts.items()):
            if part.newest is not None:
                newest.add([cluster, topic, str(number)], part.newest)
            if part.oldest is not None:
                oldest.add([cluster, topic, str(number)], part.oldest)

    for group, info in sorted(state.groups.items()):
        if info.members is not None:
            members.add([cluster, group], info.members)
        sums: dict[str, int] = {}
        for (topic, number), offset in sorted(info.offsets.items()):
            if offset < 0 or topic not in state.topics:
                continue
            committed.add([cluster, group, topic, str(number)], offset)
            newest_offset = (
                state.topics[topic][number].newest if number in state.topics[topic] else None
            )
            if newest_offset is None:
                continue
            partition_lag = max(newest_offset - offset, 0)
            lag.add([cluster, group, topic, str(number)], partition_lag)
            sums[topic] = sums.get(topic, 0) + partition_lag
        for topic, total in sums.items():
            lag_sum.add([cluster, group, topic], total)

    return build_families([brokers, partitions, newest, oldest, committed, lag, lag_sum, members])

"""kafka_exporter's families: catalogue and pure conversion from what one refresh read.

Names and labels follow danielqsj/kafka_exporter so existing dashboards keep working; every
series also carries `cluster` and the collector's constant labels.
"""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.metrics.partition_labels import PartitionLabels
from exporter.collectors.kafka.state import ClusterState

BROKERS = MetricSpec("kafka_brokers", "gauge", "Number of brokers in the cluster.", ("cluster",))
BROKER_INFO = MetricSpec(
    "kafka_broker_info", "gauge", "Always 1, one series per broker.", ("cluster", "id", "address")
)
TOPIC_PARTITIONS = MetricSpec(
    "kafka_topic_partitions", "gauge", "Number of partitions of the topic.", ("cluster", "topic")
)
_PARTITION = ("cluster", "topic", "partition")
PARTITION_CURRENT_OFFSET = MetricSpec(
    "kafka_topic_partition_current_offset",
    "gauge",
    "High watermark (next offset to be written) of the partition.",
    _PARTITION,
)
PARTITION_OLDEST_OFFSET = MetricSpec(
    "kafka_topic_partition_oldest_offset",
    "gauge",
    "Oldest offset still in the partition (log start offset).",
    _PARTITION,
)
PARTITION_LEADER = MetricSpec(
    "kafka_topic_partition_leader", "gauge", "Broker id of the partition's leader.", _PARTITION
)
PARTITION_REPLICAS = MetricSpec(
    "kafka_topic_partition_replicas", "gauge", "Number of replicas of the partition.", _PARTITION
)
PARTITION_ISR = MetricSpec(
    "kafka_topic_partition_in_sync_replica",
    "gauge",
    "Number of in-sync replicas of the partition.",
    _PARTITION,
)
PARTITION_PREFERRED_LEADER = MetricSpec(
    "kafka_topic_partition_leader_is_preferred",
    "gauge",
    "1 if the partition's leader is its preferred (first) replica, else 0.",
    _PARTITION,
)
PARTITION_UNDER_REPLICATED = MetricSpec(
    "kafka_topic_partition_under_replicated_partition",
    "gauge",
    "1 if the partition has fewer in-sync replicas than replicas, else 0.",
    _PARTITION,
)
_GROUP_PARTITION = ("cluster", "consumergroup", "topic", "partition")
GROUP_CURRENT_OFFSET = MetricSpec(
    "kafka_consumergroup_current_offset",
    "gauge",
    "Committed offset of the consumer group on the partition.",
    _GROUP_PARTITION,
)
GROUP_CURRENT_OFFSET_SUM = MetricSpec(
    "kafka_consumergroup_current_offset_sum",
    "gauge",
    "Committed offsets of the consumer group summed over the topic's partitions.",
    ("cluster", "consumergroup", "topic"),
)
GROUP_LAG = MetricSpec(
    "kafka_consumergroup_lag",
    "gauge",
    "Messages the group has not committed yet on the partition (high watermark - committed, >= 0).",
    _GROUP_PARTITION,
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
GROUP_INFO = MetricSpec(
    "kafka_consumergroup_info",
    "gauge",
    "Always 1: the group's type as ListGroups v5 names it (classic, consumer, streams; classic "
    "on brokers before it) and its protocol type.",
    ("cluster", "consumergroup", "type", "protocol_type"),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    BROKERS,
    BROKER_INFO,
    TOPIC_PARTITIONS,
    PARTITION_CURRENT_OFFSET,
    PARTITION_OLDEST_OFFSET,
    PARTITION_LEADER,
    PARTITION_REPLICAS,
    PARTITION_ISR,
    PARTITION_PREFERRED_LEADER,
    PARTITION_UNDER_REPLICATED,
    GROUP_CURRENT_OFFSET,
    GROUP_CURRENT_OFFSET_SUM,
    GROUP_LAG,
    GROUP_LAG_SUM,
    GROUP_MEMBERS,
    GROUP_INFO,
)


def broker_families(state: ClusterState, cluster: str, const: dict[str, str]) -> list[Metric]:
    """`kafka_brokers` and one `kafka_broker_info` per broker."""
    brokers = BROKERS.family(const)
    info = BROKER_INFO.family(const)
    brokers.add([cluster], len(state.brokers))
    for broker in sorted(state.brokers, key=lambda b: b.node_id):
        info.add([cluster, str(broker.node_id), f"{broker.host}:{broker.port}"], 1)
    return build_families([brokers, info])


def topic_families(state: ClusterState, cluster: str, const: dict[str, str]) -> list[Metric]:
    """Per-topic and per-partition series: offsets and replication health."""
    partitions = TOPIC_PARTITIONS.family(const)
    newest = PARTITION_CURRENT_OFFSET.family(const)
    oldest = PARTITION_OLDEST_OFFSET.family(const)
    leader = PARTITION_LEADER.family(const)
    replicas = PARTITION_REPLICAS.family(const)
    isr = PARTITION_ISR.family(const)
    preferred = PARTITION_PREFERRED_LEADER.family(const)
    under_replicated = PARTITION_UNDER_REPLICATED.family(const)
    numbers = PartitionLabels()
    for topic, parts in sorted(state.topics.items()):
        partitions.add([cluster, topic], len(parts))
        for number, part in sorted(parts.items()):
            labels = (cluster, topic, numbers[number])
            if part.newest is not None:
                newest.add(labels, part.newest)
            if part.oldest is not None:
                oldest.add(labels, part.oldest)
            if part.leader >= 0:  # -1: no leader right now; no series rather than a sentinel
                leader.add(labels, part.leader)
            replicas.add(labels, len(part.replicas))
            isr.add(labels, len(part.isr))
            is_preferred = bool(part.replicas) and part.replicas[0] == part.leader
            preferred.add(labels, 1 if is_preferred else 0)
            under_replicated.add(labels, 1 if len(part.isr) < len(part.replicas) else 0)
    families = [partitions, newest, oldest, leader, replicas, isr, preferred, under_replicated]
    return build_families(families)


def group_families(
    state: ClusterState, cluster: str, const: dict[str, str], granularity: str = "partition"
) -> list[Metric]:
    """Per-group series: committed offsets, lag, members and type (`granularity="topic"`: the
    per-(group, topic) sums only, no per-partition series)."""
    per_partition = granularity != "topic"
    committed = GROUP_CURRENT_OFFSET.family(const)
    committed_sum = GROUP_CURRENT_OFFSET_SUM.family(const)
    lag = GROUP_LAG.family(const)
    lag_sum = GROUP_LAG_SUM.family(const)
    members = GROUP_MEMBERS.family(const)
    group_info = GROUP_INFO.family(const)
    numbers = PartitionLabels()
    committed_row, committed_value = committed.appenders()
    lag_row, lag_value = lag.appenders()
    for group, info in sorted(state.groups.items()):
        group_info.add([cluster, group, info.type, info.protocol_type], 1)
        if info.members is not None:
            members.add([cluster, group], info.members)
        offset_sums: dict[str, int] = {}
        lag_sums: dict[str, int] = {}
        for (topic, number), offset in sorted(info.offsets.items()):
            parts = state.topics.get(topic)
            if offset < 0 or parts is None:
                continue
            labels = (cluster, group, topic, numbers[number])  # shared by this series' families
            if per_partition:
                committed_row(labels)
                committed_value(offset)
            offset_sums[topic] = offset_sums.get(topic, 0) + offset
            part = parts.get(number)
            if part is None or part.newest is None:
                continue
            partition_lag = max(part.newest - offset, 0)
            if per_partition:
                lag_row(labels)
                lag_value(partition_lag)
            lag_sums[topic] = lag_sums.get(topic, 0) + partition_lag
        for topic, total in offset_sums.items():
            committed_sum.add([cluster, group, topic], total)
        for topic, total in lag_sums.items():
            lag_sum.add([cluster, group, topic], total)
    return build_families([committed, committed_sum, lag, lag_sum, members, group_info])


def to_metrics(
    state: ClusterState,
    cluster: str,
    const_labels: dict[str, str],
    topic_metrics: bool = True,
    cluster_series: bool = True,
    granularity: str = "partition",
) -> list[Metric]:
    """Metric families for one refresh. Topics and groups in `state` are already filtered.

    `topic_metrics=False` leaves out the per-topic and per-partition series (lag only);
    `cluster_series=False` (shards other than 0) the broker and topic series too.
    """
    if not cluster_series:
        return group_families(state, cluster, const_labels, granularity)
    families = broker_families(state, cluster, const_labels)
    if topic_metrics:
        families += topic_families(state, cluster, const_labels)
    return families + group_families(state, cluster, const_labels, granularity)

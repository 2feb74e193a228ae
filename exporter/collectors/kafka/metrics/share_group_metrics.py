"""Share groups (KIP-932): catalogue and pure conversion from what one refresh read.

Lag is the broker's own figure (DescribeShareGroupOffsets v1: records between the start offset and
the end not yet delivery-complete); an unknown lag (-1) is no series, never -1.
"""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.metrics.evaluation_metrics import GROUP_STATES
from exporter.collectors.kafka.metrics.partition_labels import PartitionLabels
from exporter.collectors.kafka.state import ClusterState

_PARTITION = ("cluster", "sharegroup", "topic", "partition")
SHARE_LAG = MetricSpec(
    "kafka_sharegroup_lag",
    "gauge",
    "Records of the partition the share group has not yet completed delivering (the broker's "
    "lag, DescribeShareGroupOffsets v1).",
    _PARTITION,
)
SHARE_LAG_SUM = MetricSpec(
    "kafka_sharegroup_lag_sum",
    "gauge",
    "Lag of the share group summed over the topic's partitions whose lag is known.",
    ("cluster", "sharegroup", "topic"),
)
SHARE_START_OFFSET = MetricSpec(
    "kafka_sharegroup_start_offset",
    "gauge",
    "Share-partition start offset: the earliest offset the share group may still deliver.",
    _PARTITION,
)
SHARE_MEMBERS = MetricSpec(
    "kafka_sharegroup_members",
    "gauge",
    "Members of the share group (ShareGroupDescribe).",
    ("cluster", "sharegroup"),
)
SHARE_STATE = MetricSpec(
    "kafka_sharegroup_state",
    "gauge",
    "Share group state (ShareGroupDescribe): 1 for the current one of Empty, Stable, Dead (and "
    "any other the broker names), 0 for the others.",
    ("cluster", "sharegroup", "state"),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    SHARE_LAG,
    SHARE_LAG_SUM,
    SHARE_START_OFFSET,
    SHARE_MEMBERS,
    SHARE_STATE,
)


def to_metrics(
    state: ClusterState, cluster: str, const: dict[str, str], granularity: str = "partition"
) -> list[Metric]:
    """Families of the share groups in `state` (already filtered); `granularity="topic"` leaves
    out the per-partition lag and start offset."""
    per_partition = granularity != "topic"
    lag = SHARE_LAG.family(const)
    lag_sum = SHARE_LAG_SUM.family(const)
    start = SHARE_START_OFFSET.family(const)
    members = SHARE_MEMBERS.family(const)
    group_state = SHARE_STATE.family(const)
    numbers = PartitionLabels()
    for group, info in sorted(state.share_groups.items()):
        if info.members is not None:
            members.add([cluster, group], info.members)
        if info.state:
            group_state.add_state((cluster, group), GROUP_STATES["share"], info.state)
        sums: dict[str, int] = {}
        for (topic, number), part in sorted(info.partitions.items()):
            labels = (cluster, group, topic, numbers[number])
            if per_partition:
                start.add(labels, part.start_offset)
            if part.lag is not None and part.lag >= 0:
                if per_partition:
                    lag.add(labels, part.lag)
                sums[topic] = sums.get(topic, 0) + part.lag
        for topic, total in sums.items():
            lag_sum.add([cluster, group, topic], total)
    return build_families([lag, lag_sum, start, members, group_state])

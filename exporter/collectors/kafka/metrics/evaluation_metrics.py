"""Catalogue and pure conversion of lag in seconds, consumer status and broker-reported group state.

State-like metrics follow the StateSet convention (as kube-state-metrics does): one series per
possible value, 1 for the current one and 0 for the others, so alerts can match `== 1` and
series do not appear and vanish as the value changes.
"""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.evaluate.consumer_status import STATUS_NAMES
from exporter.collectors.kafka.evaluate.evaluation import Evaluation
from exporter.collectors.kafka.metrics.partition_labels import PartitionLabels
from exporter.collectors.kafka.state import ClusterState

LAG_SECONDS = MetricSpec(
    "kafka_consumergroup_lag_seconds",
    "gauge",
    "How long ago the partition's newest offset was where the group's committed offset is now "
    "(age of the oldest record not yet committed; 0 when caught up).",
    ("cluster", "consumergroup", "topic", "partition"),
)
LAG_SECONDS_MAX = MetricSpec(
    "kafka_consumergroup_lag_seconds_max",
    "gauge",
    "Largest kafka_consumergroup_lag_seconds over the group's partitions.",
    ("cluster", "consumergroup"),
)
STATUS = MetricSpec(
    "kafka_consumergroup_status",
    "gauge",
    "Burrow-style status of the group (its worst partition): 1 for the current one of "
    "OK, WARN, STALL, STOP, ERR; 0 for the others.",
    ("cluster", "consumergroup", "status"),
)
STATUS_COMPLETE = MetricSpec(
    "kafka_consumergroup_status_complete",
    "gauge",
    "Fraction of the group's partitions whose status window is full (partial windows count OK).",
    ("cluster", "consumergroup"),
)
PARTITION_STATUS = MetricSpec(
    "kafka_consumergroup_partition_status",
    "gauge",
    "Burrow-style status of the group on one partition: 1 for the current one of "
    "OK, WARN, STALL, STOP, ERR; 0 for the others (opt-in: status.partition_metrics).",
    ("cluster", "consumergroup", "topic", "partition", "status"),
)
GROUP_STATE = MetricSpec(
    "kafka_consumergroup_state",
    "gauge",
    "Group state reported by the broker (the describe API of the group's type): 1 for the "
    "current one of Stable, Empty, PreparingRebalance, CompletingRebalance, Dead (classic), "
    "Empty, Assigning, Reconciling, Stable, Dead (consumer), Empty, NotReady, Assigning, "
    "Reconciling, Stable, Dead (streams), and any other the broker names.",
    ("cluster", "consumergroup", "state"),
)
LOG_START_GAP = MetricSpec(
    "kafka_consumergroup_log_start_gap",
    "gauge",
    "Records deleted before the group read them: log start offset minus committed offset when "
    "the committed offset is below the log start offset, else 0 (granularity partition only).",
    ("cluster", "consumergroup", "topic", "partition"),
)
LOG_START_GAP_SUM = MetricSpec(
    "kafka_consumergroup_log_start_gap_sum",
    "gauge",
    "kafka_consumergroup_log_start_gap summed over the topic's partitions.",
    ("cluster", "consumergroup", "topic"),
)
CATCHUP_SECONDS = MetricSpec(
    "kafka_consumergroup_catchup_seconds",
    "gauge",
    "Seconds until the group's lag on the topic is 0 at the rates of the time_lag window: "
    "lag / (consume rate - produce rate) when the group consumes faster than the topic grows, "
    "0 when caught up, +Inf while it falls behind or is stopped with lag.",
    ("cluster", "consumergroup", "topic"),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    LAG_SECONDS,
    LAG_SECONDS_MAX,
    STATUS,
    STATUS_COMPLETE,
    PARTITION_STATUS,
    GROUP_STATE,
    LOG_START_GAP,
    LOG_START_GAP_SUM,
    CATCHUP_SECONDS,
)

GROUP_STATES: dict[str, tuple[str, ...]] = {
    "classic": ("Stable", "Empty", "PreparingRebalance", "CompletingRebalance", "Dead"),
    "consumer": ("Empty", "Assigning", "Reconciling", "Stable", "Dead"),
    "streams": ("Empty", "NotReady", "Assigning", "Reconciling", "Stable", "Dead"),
    "share": ("Empty", "Stable", "Dead"),
}
"""The states each group type's describe API names (KIP-848, KIP-1071, KIP-932)."""


def to_metrics(
    state: ClusterState,
    evaluation: Evaluation,
    cluster: str,
    const_labels: dict[str, str],
    partition_metrics: bool,
    granularity: str = "partition",
) -> list[Metric]:
    """Families for lag in seconds, status and group state of one refresh.

    `granularity="topic"` leaves out every per-partition series (lag seconds, partition status,
    log start gap) and keeps the per-group and per-(group, topic) ones.
    """
    per_partition = granularity != "topic"
    lag_seconds = LAG_SECONDS.family(const_labels)
    lag_seconds_max = LAG_SECONDS_MAX.family(const_labels)
    status = STATUS.family(const_labels)
    complete = STATUS_COMPLETE.family(const_labels)
    partition_status = PARTITION_STATUS.family(const_labels)
    group_state = GROUP_STATE.family(const_labels)

    worst: dict[str, float] = {}
    numbers = PartitionLabels()
    seconds_row, seconds_value = lag_seconds.appenders()
    for (group, topic, number), seconds in evaluation.lag_seconds.items():
        if per_partition:
            seconds_row((cluster, group, topic, numbers[number]))
            seconds_value(seconds)
        if seconds > worst.get(group, -1.0):
            worst[group] = seconds
    for group, seconds in worst.items():
        lag_seconds_max.add([cluster, group], seconds)

    for group, verdict in evaluation.statuses.items():
        status.add_state((cluster, group), STATUS_NAMES, verdict.status.name)
        complete.add([cluster, group], verdict.complete)
        if not partition_metrics or not per_partition:
            continue
        for (topic, number), part_status in verdict.partitions.items():
            partition_status.add_state(
                (cluster, group, topic, numbers[number]), STATUS_NAMES, part_status.name
            )

    for group, info in sorted(state.groups.items()):
        if info.state:
            states = GROUP_STATES.get(info.type, GROUP_STATES["classic"])
            group_state.add_state((cluster, group), states, info.state)

    gap = LOG_START_GAP.family(const_labels)
    gap_sum = LOG_START_GAP_SUM.family(const_labels)
    gap_row, gap_value = gap.appenders()
    oldest_of = {
        (topic, number): part.oldest
        for topic, parts in state.topics.items()
        for number, part in parts.items()
        if part.oldest is not None
    }
    for group, info in sorted(state.groups.items()):
        sums: dict[str, int] = {}
        for (topic, number), offset in sorted(info.offsets.items()):
            oldest = oldest_of.get((topic, number))
            if offset < 0 or oldest is None:
                continue
            deleted = oldest - offset if oldest > offset else 0
            if per_partition:
                gap_row((cluster, group, topic, numbers[number]))
                gap_value(deleted)
            sums[topic] = sums.get(topic, 0) + deleted
        for topic, total in sums.items():
            gap_sum.add([cluster, group, topic], total)

    catchup = CATCHUP_SECONDS.family(const_labels)
    for (group, topic), seconds in evaluation.catchup_seconds.items():
        catchup.add([cluster, group, topic], seconds)

    return build_families(
        [
            lag_seconds,
            lag_seconds_max,
            status,
            complete,
            partition_status,
            group_state,
            gap,
            gap_sum,
            catchup,
        ]
    )

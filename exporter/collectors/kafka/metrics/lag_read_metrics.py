"""Catalogue and conversion of what lag in seconds rests on: reads still pending, partitions
that may not be read, Fetch requests spent, and committed offsets retention has deleted."""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.evaluate.evaluation import Evaluation
from exporter.collectors.kafka.metrics.partition_labels import PartitionLabels

PENDING = MetricSpec(
    "kafka_health_exporter_lag_seconds_pending",
    "gauge",
    "kafka_consumergroup_lag_seconds values that are still estimates while the record at their "
    "committed offset waits to be read (time_lag.method auto or timestamp; 0 once all are exact).",
    ("collector",),
)
UNREADABLE = MetricSpec(
    "kafka_health_exporter_lag_seconds_unreadable",
    "gauge",
    "kafka_consumergroup_lag_seconds values that stay estimates because the record at their "
    "committed offset may not be read (authorization).",
    ("collector",),
)
RECORD_REQUESTS = MetricSpec(
    "kafka_health_exporter_lag_seconds_fetch_requests",
    "gauge",
    "Fetch requests the last refresh sent to read records at committed offsets.",
    ("collector",),
)
RETENTION_CAPPED = MetricSpec(
    "kafka_consumergroup_lag_seconds_retention_capped",
    "gauge",
    "1 where the committed offset is below the log start offset (retention deleted it): "
    "kafka_consumergroup_lag_seconds is then the age of the oldest record still there, a lower "
    "bound. Absent elsewhere.",
    ("cluster", "consumergroup", "topic", "partition"),
)

CATALOGUE: tuple[MetricSpec, ...] = (PENDING, UNREADABLE, RECORD_REQUESTS, RETENTION_CAPPED)


def to_metrics(
    evaluation: Evaluation,
    collector: str,
    cluster: str,
    const_labels: dict[str, str],
    requests: int,
    granularity: str = "partition",
) -> list[Metric]:
    """Families of one refresh with `time_lag.method` auto or timestamp (`granularity="topic"`:
    no per-partition retention-capped series; `kafka_consumergroup_log_start_gap_sum` tells)."""
    pending = PENDING.family(const_labels)
    unreadable = UNREADABLE.family(const_labels)
    record_requests = RECORD_REQUESTS.family(const_labels)
    capped = RETENTION_CAPPED.family(const_labels)
    pending.add([collector], evaluation.pending)
    unreadable.add([collector], evaluation.unreadable)
    record_requests.add([collector], requests)
    numbers = PartitionLabels()
    for group, topic, number in sorted(evaluation.capped) if granularity != "topic" else ():
        capped.add((cluster, group, topic, numbers[number]), 1)
    return build_families([pending, unreadable, record_requests, capped])

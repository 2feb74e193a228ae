"""Catalogue and conversion of the end-to-end probe's counts, in kminion's names
(`kminion_end_to_end_*`, labels `partition_id` / `coordinator_id`) plus `cluster`."""

from __future__ import annotations

import math

from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.probe.stats import HistogramSnapshot, ProbeSnapshot

_P = ("cluster", "partition_id")
_C = ("cluster", "coordinator_id")

PRODUCED = MetricSpec(
    "kminion_end_to_end_messages_produced",
    "counter",
    "Probe records produced to the canary topic, by partition: counted when the produce is "
    "answered (acknowledged by all in-sync replicas) or given up on after `timeout`.",
    _P,
)
PRODUCED_FAILED = MetricSpec(
    "kminion_end_to_end_messages_produced_failed",
    "counter",
    "Probe records whose produce failed or was not acknowledged within `timeout`, by partition.",
    _P,
)
RECEIVED = MetricSpec(
    "kminion_end_to_end_messages_received",
    "counter",
    "Probe records of this exporter read back from the canary topic within `timeout` of being "
    "produced, by partition.",
    _P,
)
LOST = MetricSpec(
    "kminion_end_to_end_messages_lost",
    "counter",
    "Probe records acknowledged by the cluster but not read back within `timeout`, by partition.",
    _P,
)
IN_FLIGHT = MetricSpec(
    "kminion_end_to_end_messages_produced_in_flight",
    "gauge",
    "Probe records produced but not answered yet, by partition.",
    _P,
)
COMMITS = MetricSpec(
    "kminion_end_to_end_offset_commits",
    "counter",
    "Offset commits of the probe's consumer group, by the coordinator that answered.",
    _C,
)
COMMITS_FAILED = MetricSpec(
    "kminion_end_to_end_offset_commits_failed",
    "counter",
    "Offset commits of the probe's group that failed (reason: the error's name) or were not "
    "answered within `timeout` (reason `timeout`), by coordinator.",
    (*_C, "reason"),
)
PRODUCE_LATENCY = MetricSpec(
    "kminion_end_to_end_produce_latency_seconds",
    "histogram",
    "Seconds from producing a probe record (acks=all) to its acknowledgement, by partition.",
    _P,
)
ROUNDTRIP_LATENCY = MetricSpec(
    "kminion_end_to_end_roundtrip_latency_seconds",
    "histogram",
    "Seconds from producing a probe record to reading it back, by partition.",
    _P,
)
COMMIT_LATENCY = MetricSpec(
    "kminion_end_to_end_offset_commit_latency_seconds",
    "histogram",
    "Seconds an offset commit of the probe's group took to be answered, by coordinator.",
    _C,
)

CATALOGUE: tuple[MetricSpec, ...] = (
    PRODUCED,
    PRODUCED_FAILED,
    RECEIVED,
    LOST,
    IN_FLIGHT,
    COMMITS,
    COMMITS_FAILED,
    PRODUCE_LATENCY,
    ROUNDTRIP_LATENCY,
    COMMIT_LATENCY,
)


def _histogram(
    spec: MetricSpec,
    values: dict[int, HistogramSnapshot],
    cluster: str,
    const: dict[str, str],
) -> HistogramMetricFamily:
    extra = [k for k in const if k not in spec.labels]
    family = HistogramMetricFamily(spec.name, spec.help, labels=[*spec.labels, *extra])
    for key, snap in sorted(values.items()):
        buckets = [
            ("+Inf" if math.isinf(bound) else floatToGoString(bound), float(count))
            for bound, count in snap.buckets
        ]
        family.add_metric([cluster, str(key), *(const[k] for k in extra)], buckets, snap.sum)
    return family


def to_metrics(snapshot: ProbeSnapshot, cluster: str, const: dict[str, str]) -> list[Metric]:
    """The probe's families; a histogram appears once one of its label sets exists."""
    counts = [
        (PRODUCED, snapshot.produced),
        (PRODUCED_FAILED, snapshot.produced_failed),
        (RECEIVED, snapshot.received),
        (LOST, snapshot.lost),
        (IN_FLIGHT, snapshot.in_flight),
        (COMMITS, snapshot.commits),
    ]
    builders = []
    for spec, values in counts:
        family = spec.family(const)
        for key, count in sorted(values.items()):
            family.add([cluster, str(key)], count)
        builders.append(family)
    failed = COMMITS_FAILED.family(const)
    for (coordinator, reason), count in sorted(snapshot.commits_failed.items()):
        failed.add([cluster, str(coordinator), reason], count)
    builders.append(failed)
    out = build_families(builders)
    for spec, histograms in (
        (PRODUCE_LATENCY, snapshot.produce_latency),
        (ROUNDTRIP_LATENCY, snapshot.roundtrip_latency),
        (COMMIT_LATENCY, snapshot.commit_latency),
    ):
        if histograms:
            out.append(_histogram(spec, histograms, cluster, const))
    return out

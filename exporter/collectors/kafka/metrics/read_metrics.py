"""Catalogue and conversion of the reader's own counts: replies refused as malformed or over a
limit, by Kafka API."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families

MALFORMED = MetricSpec(
    "kafka_health_exporter_malformed_responses",
    "counter",
    "Broker replies refused since start because they could not be decoded (truncated, invalid "
    "UTF-8, a bad array length) or were over a limit (max_response_bytes, element counts), by "
    "Kafka API; the series of each such request are left out of its refresh.",
    ("collector", "api"),
)

CATALOGUE: tuple[MetricSpec, ...] = (MALFORMED,)


def to_metrics(
    collector: str, malformed: Mapping[str, int], const_labels: dict[str, str]
) -> list[Metric]:
    """The counts of one collector (an API appears once one of its replies was refused)."""
    family = MALFORMED.family(const_labels)
    for api, count in sorted(malformed.items()):
        family.add([collector, api], count)
    return build_families([family])

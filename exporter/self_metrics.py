"""The exporter's own metrics: per-collector refresh outcome and build info."""

from __future__ import annotations

from exporter.catalogue import MetricSpec

COLLECTOR_UP = MetricSpec(
    "kafka_health_exporter_collector_up",
    "gauge",
    "1 if the collector's last refresh succeeded, else 0.",
    ("collector", "type"),
)
COLLECTOR_DURATION = MetricSpec(
    "kafka_health_exporter_collector_duration_seconds",
    "gauge",
    "Wall time of the collector's last refresh (fetch and conversion).",
    ("collector",),
)
COLLECTOR_LAST_SUCCESS = MetricSpec(
    "kafka_health_exporter_collector_last_success_timestamp_seconds",
    "gauge",
    "Unix time of the collector's last successful refresh.",
    ("collector",),
)
COLLECTOR_FAILURES = MetricSpec(
    "kafka_health_exporter_collector_failures",
    "counter",
    "Failed refreshes (errors and timeouts) since start.",
    ("collector",),
)
BUILD_INFO = MetricSpec(
    "kafka_health_exporter_build_info",
    "gauge",
    "Always 1; the version label carries the exporter's version.",
    ("version",),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    COLLECTOR_UP,
    COLLECTOR_DURATION,
    COLLECTOR_LAST_SUCCESS,
    COLLECTOR_FAILURES,
    BUILD_INFO,
)

"""The exporter's own metrics: per-collector refresh outcome and build info."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.core import Metric

from exporter.catalogue import MetricSpec

if TYPE_CHECKING:
    from exporter.snapshot import SnapshotStore

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


def self_metric_families(store: SnapshotStore, version: str) -> list[Metric]:
    """Self-metrics from the store's current state (cheap: a few series per collector)."""
    up = COLLECTOR_UP.family()
    duration = COLLECTOR_DURATION.family()
    last_success = COLLECTOR_LAST_SUCCESS.family()
    failures = COLLECTOR_FAILURES.family()
    build = BUILD_INFO.family()
    for status in store.statuses():
        last = status.last
        up.add([status.name, status.type], 1.0 if last is not None and last.ok else 0.0)
        if last is not None:
            duration.add([status.name], last.duration)
        if status.last_success is not None:
            last_success.add([status.name], status.last_success.finished_at)
        failures.add([status.name], status.failures)
    build.add([version], 1.0)
    return [f.build() for f in (up, duration, last_success, failures, build)]

"""The exporter's own metrics: per-collector refresh outcome, build info, and daemon counters
(HTTP auth failures, config reloads, event-loop tasks)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec

if TYPE_CHECKING:
    from exporter.exposition.store import SnapshotStore

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

HTTP_AUTH_FAILURES = MetricSpec(
    "kafka_health_exporter_http_auth_failures",
    "counter",
    "HTTP requests refused by basic auth or the client-certificate SAN check, by reason "
    "(missing, wrong, client_certificate, throttled).",
    ("reason",),
)
RELOAD_SUCCESSFUL = MetricSpec(
    "kafka_health_exporter_config_last_reload_successful",
    "gauge",
    "1 if the last config reload (SIGHUP or POST /-/reload) succeeded, 0 if it was rejected.",
    (),
)
RELOAD_SUCCESS_TIME = MetricSpec(
    "kafka_health_exporter_config_last_reload_success_timestamp_seconds",
    "gauge",
    "Unix time of the last successful config load (start-up counts).",
    (),
)
RELOADS = MetricSpec(
    "kafka_health_exporter_config_reloads",
    "counter",
    "Config reloads since start, by result (success, failure).",
    ("result",),
)
LOOP_TASKS = MetricSpec(
    "kafka_health_exporter_event_loop_tasks",
    "gauge",
    "asyncio tasks alive in the exporter's event loops, serving and collectors (a leak shows as"
    " growth).",
    (),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    COLLECTOR_UP,
    COLLECTOR_DURATION,
    COLLECTOR_LAST_SUCCESS,
    COLLECTOR_FAILURES,
    BUILD_INFO,
    HTTP_AUTH_FAILURES,
    RELOAD_SUCCESSFUL,
    RELOAD_SUCCESS_TIME,
    RELOADS,
    LOOP_TASKS,
)


@dataclass
class DaemonCounters:
    """Mutable counters of one running daemon (owned by app.serve, never module-global)."""

    auth_failures: Counter[str] = field(default_factory=Counter)
    reloads: Counter[str] = field(default_factory=Counter)
    last_reload_successful: bool = True
    last_reload_success_time: float = field(default_factory=time.time)
    collector_tasks: Callable[[], int] = lambda: 0
    """Counts the tasks of the collector loop (set once that loop exists)."""

    def reload_succeeded(self) -> None:
        """Record a successful reload."""
        self.reloads["success"] += 1
        self.last_reload_successful = True
        self.last_reload_success_time = time.time()

    def reload_failed(self) -> None:
        """Record a rejected reload."""
        self.reloads["failure"] += 1
        self.last_reload_successful = False

    def families(self) -> list[Metric]:
        """The daemon counters as metric families."""
        auth = HTTP_AUTH_FAILURES.family()
        for reason in ("missing", "wrong", "client_certificate", "throttled"):
            auth.add([reason], self.auth_failures[reason])
        reloads = RELOADS.family()
        for result in ("success", "failure"):
            reloads.add([result], self.reloads[result])
        ok = RELOAD_SUCCESSFUL.family()
        ok.add([], 1.0 if self.last_reload_successful else 0.0)
        when = RELOAD_SUCCESS_TIME.family()
        when.add([], self.last_reload_success_time)
        tasks = LOOP_TASKS.family()
        with contextlib.suppress(RuntimeError):  # rendered outside the loop (tests)
            tasks.add([], len(asyncio.all_tasks()) + self.collector_tasks())
        return [f.build() for f in (auth, reloads, ok, when, tasks)]


def self_metric_families(
    store: SnapshotStore, version: str, daemon: DaemonCounters | None = None
) -> list[Metric]:
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
    families = [f.build() for f in (up, duration, last_success, failures, build)]
    return families + (daemon.families() if daemon is not None else [])

"""What every collector kind shares: its config fields and the Collector interface."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from prometheus_client.core import Metric
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from exporter.collectors.families import MetricSpec
from exporter.schema.durations import parse_duration
from exporter.schema.errors import mask
from exporter.schema.types import Duration, Flag

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_COLLECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 10.0
MIN_INTERVAL = 0.1
"""Shortest refresh interval (100ms): shorter ones only flood the log with overrun warnings."""
BASE_RESERVED_LABELS = frozenset({"collector", "type"})
EXPORTER_FAMILY_NAMES = frozenset(
    {
        "kafka_health_exporter_collector_up",
        "kafka_health_exporter_collector_duration_seconds",
        "kafka_health_exporter_collector_last_success_timestamp_seconds",
        "kafka_health_exporter_collector_failures",
        "kafka_health_exporter_collector_failures_total",
        "kafka_health_exporter_build_info",
        "kafka_health_exporter_http_auth_failures",
        "kafka_health_exporter_http_auth_failures_total",
        "kafka_health_exporter_config_last_reload_successful",
        "kafka_health_exporter_config_last_reload_success_timestamp_seconds",
        "kafka_health_exporter_config_reloads",
        "kafka_health_exporter_config_reloads_total",
        "kafka_health_exporter_event_loop_tasks",
    }
    | {"process_virtual_memory_bytes", "process_resident_memory_bytes", "process_max_fds"}
    | {"process_start_time_seconds", "process_cpu_seconds", "process_cpu_seconds_total"}
    | {"process_open_fds", "python_info"}
)
"""Families the exporter exposes besides its collectors' (self-metrics, process and platform),
counters also under their `_total` sample name: kept in sync with the self-metric CATALOGUE and
ProcessMetrics by a unit test (the config path cannot import them)."""


class CollectorConfig(BaseModel):
    """Fields every collector entry has. Kinds subclass this, add their own fields and may set
    their own `default_interval` and `default_health`.

    Validation resolves every field in one pass: an entry without `interval` gets the kind's
    default, else `defaults.interval` of the file (passed as validation context `defaults`), else
    30s; without `timeout`, `defaults.timeout`, else 10s or 80% of a shorter interval; without
    `stale_after`, three intervals; without `health`, the kind's default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_interval: ClassVar[float | None] = None
    """The kind's refresh interval when the entry sets none (None: the file's default)."""
    default_health: ClassVar[bool] = False
    """Whether the kind takes part in /health when the entry does not say."""
    reserved_labels: ClassVar[frozenset[str]] = BASE_RESERVED_LABELS
    """Label names the kind's metrics (and the collector self-metrics) already carry: a constant
    label of the same name would clash, so `labels` may not use them."""
    label_hints: ClassVar[dict[str, str]] = {
        "collector": "the collector's `name` sets it",
        "type": "the collector's kind sets it",
    }
    """Reserved label -> what sets it instead, for the error of a constant label that clashes."""
    family_names: ClassVar[frozenset[str]] = frozenset()
    """Families of the kind's catalogue (counters also as `..._total`): a configured metric
    name (a jmx bean, a CloudMonitor metric) may not reuse one of any kind."""

    name: str
    type: str
    interval: Duration
    timeout: Duration
    stale_after: Duration
    health: Flag
    labels: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _inherit_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        defaults = (info.context or {}).get("defaults")
        filled = dict(data)
        if filled.get("interval") is None:
            filled["interval"] = cls.default_interval or getattr(
                defaults, "interval", DEFAULT_INTERVAL
            )
        try:
            interval = parse_duration(filled["interval"])
        except ValueError:  # reported by the field itself; the rest needs no default then
            interval = DEFAULT_INTERVAL
        if filled.get("timeout") is None:
            filled["timeout"] = getattr(defaults, "timeout", None) or min(
                DEFAULT_TIMEOUT, 0.8 * interval
            )
        if filled.get("stale_after") is None:
            filled["stale_after"] = 3 * interval
        if filled.get("health") is None:
            filled["health"] = cls.default_health
        return filled

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, value: str) -> str:
        if not _COLLECTOR_NAME.match(value):
            raise ValueError(
                "expected letters, digits and _ . : - (starting with a letter or digit)"
            )
        return value

    @field_validator("interval")
    @classmethod
    def _interval_not_too_short(cls, value: float) -> float:
        if value < MIN_INTERVAL:
            raise ValueError(f"must be at least {MIN_INTERVAL * 1000:g}ms")
        return value

    @field_validator("labels")
    @classmethod
    def _labels_are_valid(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = cls.reserved_labels | BASE_RESERVED_LABELS
        for key, label_value in value.items():
            if not _LABEL_NAME.match(key) or key.startswith("__"):
                raise ValueError(f"label name {key!r} is not a valid Prometheus label name")
            if key in reserved:
                hint = cls.label_hints.get(key, "")
                raise ValueError(
                    f"label name {key!r} clashes with a label this kind's metrics already carry:"
                    f" its value {mask(key, label_value)} would be lost to the metric's own"
                    f"{'; ' + hint if hint else ''} (reserved: {', '.join(sorted(reserved))})"
                )
        return value

    def named_families(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(key path within the entry, family name) of each family the entry names itself,
        beyond the kind's catalogue."""
        return []

    def summary(self) -> str:
        """One line describing this collector, for `check-config`."""
        return f"{self.name} ({self.type}): every {self.interval:g}s, timeout {self.timeout:g}s"


@dataclass(frozen=True)
class Health:
    """A collector's verdict on the target it watches."""

    healthy: bool
    reason: str = ""


ConfigT = TypeVar("ConfigT", bound=CollectorConfig)
FetchedT = TypeVar("FetchedT")


class Collector(ABC, Generic[ConfigT, FetchedT]):
    """One configured source of metrics.

    Life cycle: `fetch()` is called by the scheduler every interval under the timeout and does all
    I/O; `to_metrics()` turns its result into metric families without I/O (it runs in a worker
    thread); `close()` releases clients at shutdown. A kind declares its config model, its metric
    catalogue and optional defaults as class variables.
    """

    config_model: ClassVar[type[CollectorConfig]]
    catalogue: ClassVar[tuple[MetricSpec, ...]]

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    @property
    def name(self) -> str:
        """The collector's unique name."""
        return self.config.name

    @abstractmethod
    async def fetch(self) -> FetchedT:
        """Read the source. Raise on failure; the scheduler records the error."""

    @abstractmethod
    def to_metrics(self, fetched: FetchedT) -> Sequence[Metric]:
        """Convert fetched data to metric families. Pure: no I/O, no clock."""

    def health(self, fetched: FetchedT) -> Health:
        """Health of the watched target judged from a successful fetch."""
        return Health(True)

    def health_when_failing(self, failing_for: float, stale: bool, error: str) -> Health:
        """Health while refreshes fail: unhealthy once the data is stale."""
        if stale:
            return Health(False, f"no successful refresh for {failing_for:.0f}s: {error}")
        return Health(True, f"last refresh failed ({error}); data not stale yet")

    async def close(self) -> None:
        """Release clients and connections."""

    def describe_error(self, exc: BaseException) -> str:
        """Message for a failed refresh; kinds may add API codes or request ids."""
        name, text = exc.__class__.__name__, str(exc)
        if not text:
            return name
        return text if text.startswith(name) else f"{name}: {text}"

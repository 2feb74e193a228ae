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
from exporter.schema.types import Duration

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_COLLECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 10.0
MIN_INTERVAL = 0.1
"""Shortest refresh interval (100ms): shorter ones only flood the log with overrun warnings."""
BASE_RESERVED_LABELS = frozenset({"collector", "type"})


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

    name: str
    type: str
    interval: Duration
    timeout: Duration
    stale_after: Duration
    health: bool
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
        for key in value:
            if not _LABEL_NAME.match(key) or key.startswith("__"):
                raise ValueError(f"label name {key!r} is not a valid Prometheus label name")
            if key in reserved:
                raise ValueError(
                    f"label name {key!r} clashes with a label of this kind's metrics "
                    f"(reserved: {', '.join(sorted(reserved))})"
                )
        return value

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

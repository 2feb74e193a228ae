"""What every collector kind shares: its config fields and the Collector interface."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from prometheus_client.core import Metric
from pydantic import BaseModel, ConfigDict, Field, field_validator

from exporter.catalogue import MetricSpec
from exporter.durations import Duration

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_COLLECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


class CollectorConfig(BaseModel):
    """Fields every collector entry has. Kinds subclass this and add their own.

    `interval`, `timeout`, `stale_after` and `health` are `None` when the file leaves them out;
    the config loader fills them from `defaults` and the kind's own defaults.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str
    interval: Duration | None = None
    timeout: Duration | None = None
    stale_after: Duration | None = None
    health: bool | None = None
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, value: str) -> str:
        if not _COLLECTOR_NAME.match(value):
            raise ValueError(
                "expected letters, digits and _ . : - (starting with a letter or digit)"
            )
        return value

    @field_validator("labels")
    @classmethod
    def _labels_are_valid(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _LABEL_NAME.match(key) or key.startswith("__"):
                raise ValueError(f"label name {key!r} is not a valid Prometheus label name")
        return value

    # The loader guarantees these are set before a collector is built.
    @property
    def interval_s(self) -> float:
        """Refresh interval in seconds."""
        assert self.interval is not None
        return self.interval

    @property
    def timeout_s(self) -> float:
        """Refresh timeout in seconds."""
        assert self.timeout is not None
        return self.timeout

    @property
    def stale_after_s(self) -> float:
        """Seconds after the last success when the series disappear."""
        assert self.stale_after is not None
        return self.stale_after

    def summary(self) -> str:
        """One line describing this collector, for `check-config`."""
        return f"{self.name} ({self.type}): every {self.interval_s:g}s, timeout {self.timeout_s:g}s"


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
    default_interval: ClassVar[float | None] = None
    default_health: ClassVar[bool] = False

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

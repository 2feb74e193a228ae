"""Config sections of the `kafka` collector: `time_lag` (lag in seconds) and `status`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exporter.schema.types import Duration, Flag


class TimeLagConfig(BaseModel):
    """`time_lag`: how `kafka_consumergroup_lag_seconds` is computed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["auto", "estimate", "timestamp", "off"] = "auto"
    """auto: interpolate the watched high watermarks where they place the committed offset, read
    the record's timestamp where they cannot (before the history); estimate: interpolate only
    (bounded extrapolation before the history); timestamp: read the record at every lagging
    committed offset; off: no lag-in-seconds series."""
    reads_per_refresh: int = Field(default=1000, ge=1, le=100_000)
    """Most records read per refresh (auto, timestamp), the oldest first; the rest next time."""
    window: Duration = 900.0
    """Span of full-resolution high-watermark history (older history is kept coarser)."""

    @field_validator("method", mode="before")
    @classmethod
    def _unquoted_off(cls, value: object) -> object:
        """YAML 1.1 reads an unquoted `off` as false: `method: off` means "off"."""
        return "off" if value is False else value


class StatusConfig(BaseModel):
    """`status`: Burrow-style evaluation of each group over its last `window` refreshes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(default=10, ge=2, le=1000)
    """Refreshes per partition a status is evaluated over."""
    partition_metrics: Flag = False
    """Also expose `kafka_consumergroup_partition_status` (one series per status and partition)."""

"""Config sections of the `kafka` collector: `time_lag` (lag in seconds) and `status`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exporter.schema.types import Duration


class TimeLagConfig(BaseModel):
    """`time_lag`: how `kafka_consumergroup_lag_seconds` is computed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["estimate", "timestamp", "off"] = "estimate"
    """estimate: interpolate a table of past high watermarks; timestamp: read the record at the
    committed offset; off: no lag-in-seconds series."""
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
    partition_metrics: bool = False
    """Also expose `kafka_consumergroup_partition_status` (one series per status and partition)."""

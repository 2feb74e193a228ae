"""Config sections of the `kafka` collector's optional reads: `e2e_probe` (a canary round trip)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from exporter.schema.types import Duration


class E2eProbeConfig(BaseModel):
    """`e2e_probe`: produce to a canary topic and consume it back (kminion's end-to-end probe)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(default="kafka-health-exporter-e2e", min_length=1, max_length=249)
    """The canary topic, made when missing (one partition per broker)."""
    interval: Duration = 1.0
    """How often a record is produced to every partition of the canary topic."""
    timeout: Duration = 5.0
    """A produce, round trip or commit slower than this counts as failed (kminion's SLAs)."""
    replication_factor: int | None = Field(default=None, ge=1, le=32767)
    """Replicas of the canary topic when it is made (default: the cluster's default)."""
    group_id: str | None = Field(default=None, min_length=1)
    """The probe consumer's group (default: `kafka-health-exporter-e2e-<collector name>`)."""

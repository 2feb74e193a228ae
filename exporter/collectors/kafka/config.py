"""Config model of the `kafka` collector kind."""

from __future__ import annotations

import os
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from exporter.collectors.base import CollectorConfig
from exporter.collectors.kafka.lag_status_config import StatusConfig, TimeLagConfig
from exporter.schema.addresses import split_host_port
from exporter.schema.types import NameFilter


class GroupFilter(NameFilter):
    """Consumer groups to report: name patterns, and optionally only groups with members."""

    only_active: bool = False
    """True reports only groups with members (kafka_exporter's `--offset.show-all=false`)."""


def _default_topic_filter() -> NameFilter:
    return NameFilter(include=[".*"], exclude=["^__.*"])


class KafkaConfig(CollectorConfig):
    """One Kafka cluster to watch."""

    reserved_labels: ClassVar[frozenset[str]] = frozenset(
        {"address", "cluster", "collector", "consumergroup", "id", "partition", "state"}
        | {"status", "topic", "type", "protocol_type", "sharegroup"}
    )
    """Labels of the kind's catalogue (MetricSpec.labels), `cluster`, and the self-metrics'."""
    family_names: ClassVar[frozenset[str]] = frozenset(
        {"kafka_brokers", "kafka_broker_info", "kafka_topic_partitions"}
        | {"kafka_topic_partition_current_offset", "kafka_topic_partition_oldest_offset"}
        | {"kafka_topic_partition_leader", "kafka_topic_partition_replicas"}
        | {"kafka_topic_partition_in_sync_replica", "kafka_topic_partition_leader_is_preferred"}
        | {"kafka_topic_partition_under_replicated_partition"}
        | {"kafka_consumergroup_current_offset", "kafka_consumergroup_current_offset_sum"}
        | {"kafka_consumergroup_lag", "kafka_consumergroup_lag_sum"}
        | {"kafka_consumergroup_members", "kafka_consumergroup_lag_seconds"}
        | {"kafka_consumergroup_lag_seconds_max", "kafka_consumergroup_status"}
        | {"kafka_consumergroup_status_complete", "kafka_consumergroup_partition_status"}
        | {"kafka_consumergroup_state", "kafka_consumergroup_lag_seconds_retention_capped"}
        | {"kafka_health_exporter_lag_seconds_pending"}
        | {"kafka_health_exporter_lag_seconds_unreadable"}
        | {"kafka_health_exporter_lag_seconds_fetch_requests", "kafka_consumergroup_info"}
        | {"kafka_sharegroup_lag", "kafka_sharegroup_lag_sum", "kafka_sharegroup_start_offset"}
        | {"kafka_sharegroup_members", "kafka_sharegroup_state"}
    )

    type: Literal["kafka"]
    bootstrap_servers: list[str]
    cluster: str | None = None
    groups: GroupFilter = Field(default_factory=GroupFilter)
    """Every group by default (NameFilter's defaults: include .*, exclude nothing)."""
    topics: NameFilter = Field(default_factory=_default_topic_filter)
    topic_metrics: bool = True
    """False leaves out per-topic/partition series and reads watermarks only where groups commit."""
    max_concurrency: int = Field(default=8, ge=1, le=256)
    time_lag: TimeLagConfig = Field(default_factory=TimeLagConfig)
    """Lag in seconds: method auto | estimate | timestamp | off, the history window, read budget."""
    status: StatusConfig = Field(default_factory=StatusConfig)
    """Burrow-style consumer status: refreshes per window, opt-in per-partition series."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split_servers(cls, value: object) -> object:
        if isinstance(value, str):
            value = [s.strip() for s in value.split(",") if s.strip()]
        return value

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers_are_host_port(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one HOST:PORT")
        for server in value:
            split_host_port(server)
        return value

    @field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile")
    @classmethod
    def _file_exists(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isfile(value):
            raise ValueError("no such file (relative paths are resolved against the working dir)")
        if value is not None and not os.access(value, os.R_OK):
            raise ValueError("the file is not readable")
        return value

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaConfig:
        if self.security_protocol.startswith("SASL"):
            if self.sasl_mechanism is None:
                raise ValueError(
                    f"sasl_mechanism is required with security_protocol {self.security_protocol}"
                )
            if not self.sasl_username or not self.sasl_password:
                raise ValueError("sasl_username and sasl_password are required with SASL")
        return self

    @property
    def cluster_label(self) -> str:
        """Value of the `cluster` label: `cluster`, else the collector name."""
        return self.cluster or self.name

    def summary(self) -> str:
        """One line for `check-config`."""
        return (
            f"{super().summary()}; cluster {self.cluster_label!r} at "
            f"{','.join(self.bootstrap_servers)} ({self.security_protocol})"
        )

"""Config model of the `kafka` collector kind."""

from __future__ import annotations

import os
import re
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from exporter.collectors.base import CollectorConfig
from exporter.collectors.kafka.auth import rules
from exporter.collectors.kafka.lag_status_config import StatusConfig, TimeLagConfig
from exporter.collectors.kafka.options_config import E2eProbeConfig
from exporter.collectors.kafka.shard import ShardConfig
from exporter.schema.addresses import split_host_port
from exporter.schema.types import Flag, NameFilter

SaslMechanism = Literal[
    "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "AWS_MSK_IAM", "GSSAPI"
]
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SERVER_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_TOPIC_CONFIG_NAME = re.compile(r"[a-z][a-z0-9]*(?:\.[a-z0-9]+)*")
"""A DNS name (what SNI carries; not an IP address with a port)."""


class GroupFilter(NameFilter):
    """Consumer groups to report: name patterns, and optionally only groups with members."""

    only_active: Flag = False
    """True reports only groups with members (kafka_exporter's `--offset.show-all=false`)."""


def _default_topic_filter() -> NameFilter:
    return NameFilter(include=[".*"], exclude=["^__.*"])


_E2E_COUNTERS = (
    *("messages_produced", "messages_produced_failed", "messages_received"),
    *("messages_lost", "offset_commits", "offset_commits_failed"),
)
"""The end-to-end probe's counters (kminion's names), also under `..._total`."""


class KafkaConfig(CollectorConfig):
    """One Kafka cluster to watch."""

    reserved_labels: ClassVar[frozenset[str]] = frozenset(
        {"address", "cluster", "collector", "consumergroup", "id", "partition", "state"}
        | {"status", "topic", "type", "protocol_type", "sharegroup", "shard", "shard_count"}
        | {"api"}
        | {"broker", "log_dir", "error"}
        | {"cluster_id", "controller_id", "rack"}
        | {"member_id", "client_id", "host", "group_instance_id"}
        | {"partition_id", "coordinator_id", "reason"}
    )
    """Labels of the kind's catalogue (MetricSpec.labels), `cluster`, and the self-metrics'."""
    label_hints: ClassVar[dict[str, str]] = {
        **CollectorConfig.label_hints,
        "cluster": "set the collector's `cluster` key to name the cluster",
    }
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
        | {"kafka_sharegroup_members", "kafka_sharegroup_state", "kafka_health_exporter_shard_info"}
        | {"kafka_health_exporter_malformed_responses"}
        | {"kafka_health_exporter_malformed_responses_total"}
        | {"kafka_log_dir_partition_size_bytes", "kafka_log_dir_topic_size_bytes"}
        | {"kafka_log_dir_size_bytes", "kafka_log_dir_volume_total_bytes"}
        | {"kafka_log_dir_volume_usable_bytes", "kafka_log_dir_error"}
        | {"kafka_cluster_info", "kafka_broker_rack_info", "kafka_broker_api_max_version"}
        | {"kafka_topic_config_info"}
        | {"kafka_consumergroup_member_info", "kafka_consumergroup_member_assigned_partitions"}
        | {"kafka_consumergroup_log_start_gap", "kafka_consumergroup_log_start_gap_sum"}
        | {"kafka_consumergroup_catchup_seconds"}
        | {f"kminion_end_to_end_{n}{t}" for n in _E2E_COUNTERS for t in ("", "_total")}
        | {"kminion_end_to_end_messages_produced_in_flight"}
        | {"kminion_end_to_end_produce_latency_seconds"}
        | {"kminion_end_to_end_roundtrip_latency_seconds"}
        | {"kminion_end_to_end_offset_commit_latency_seconds"}
    )

    type: Literal["kafka"]
    bootstrap_servers: list[str]
    cluster: str | None = None
    groups: GroupFilter = Field(default_factory=GroupFilter)
    """Every group by default (NameFilter's defaults: include .*, exclude nothing)."""
    topics: NameFilter = Field(default_factory=_default_topic_filter)
    topic_metrics: Flag = True
    """False leaves out per-topic/partition series and reads watermarks only where groups commit."""
    max_concurrency: int = Field(default=8, ge=1, le=256)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    """Largest reply frame taken from a broker (1 KiB-1 GiB); a frame announcing more is
    refused at its length prefix, unread, and its connection closed."""
    time_lag: TimeLagConfig = Field(default_factory=TimeLagConfig)
    """Lag in seconds: method auto | estimate | timestamp | off, the history window, read budget."""
    status: StatusConfig = Field(default_factory=StatusConfig)
    """Burrow-style consumer status: refreshes per window, opt-in per-partition series."""
    granularity: Literal["partition", "topic"] = "partition"
    """topic leaves out the per-partition group series (current offset, lag, lag seconds) and
    keeps the per-group-and-topic sums and maxima, for clusters with too many partitions."""
    members: Flag = False
    """Also expose `kafka_consumergroup_member_info` (one series per group member)."""
    cluster_info: Flag = False
    """Also expose `kafka_cluster_info` and per-broker info (rack, highest API versions)."""
    topic_configs: list[str] = Field(default_factory=list)
    """Topic config names (e.g. cleanup.policy, retention.ms) for `kafka_topic_config_info`."""
    log_dirs: Flag = False
    """Also read log-dir sizes per broker, topic and partition (DescribeLogDirs, per broker)."""
    e2e_probe: E2eProbeConfig | None = None
    """A canary round trip: produce, consume back, commit; off unless set."""
    shard: ShardConfig | None = None
    """Several replicas sharing one cluster: `{count, index}`; each reads the groups a stable
    hash assigns it, shard 0 also the topic and broker series."""
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = Field(default=None, repr=False)
    sasl_oauth_token_url: str | None = None
    """OAUTHBEARER: the OAuth token endpoint (client credentials grant)."""
    sasl_oauth_client_id: str | None = None
    sasl_oauth_client_secret: str | None = Field(default=None, repr=False)
    sasl_oauth_scope: str | None = None
    sasl_oauth_token_cafile: str | None = None
    """CA bundle for an https token endpoint (default: the system CAs)."""
    sasl_aws_region: str | None = None
    """AWS_MSK_IAM: the cluster's region; credentials come from the AWS default chain."""
    sasl_aws_role_arn: str | None = None
    sasl_aws_profile: str | None = None
    sasl_kerberos_service_name: str = "kafka"
    sasl_kerberos_domain_name: str | None = None
    """GSSAPI: the host part of the broker's principal (default: each broker's host)."""
    sasl_kerberos_principal: str | None = None
    sasl_kerberos_keytab: str | None = None
    sasl_kerberos_ccache: str | None = None
    sasl_kerberos_krb5_config: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = Field(default=None, repr=False)
    ssl_check_hostname: Flag = True
    ssl_server_name: str | None = None
    """The name sent as SNI and checked against the certificate (default: each broker's host)."""
    ssl_insecure_skip_verify: Flag = False
    """Accept any certificate: neither the chain nor the name is checked."""

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

    @field_validator(
        "ssl_cafile", "ssl_certfile", "ssl_keyfile", "sasl_oauth_token_cafile",
        "sasl_kerberos_keytab", "sasl_kerberos_krb5_config",
    )  # fmt: skip
    @classmethod
    def _file_exists(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isfile(value):
            raise ValueError("no such file (relative paths are resolved against the working dir)")
        if value is not None and not os.access(value, os.R_OK):
            raise ValueError("the file is not readable")
        return value

    @field_validator("topic_configs")
    @classmethod
    def _topic_config_names(cls, names: list[str]) -> list[str]:
        """Config names Kafka spells (lower-case letters, digits, dots), each once, whose labels
        (dots as underscores) are none of the catalogue's."""
        seen: set[str] = set()
        for name in names:
            if not _TOPIC_CONFIG_NAME.fullmatch(name):
                raise ValueError(
                    f"topic_configs: {name!r} is not a topic config name (lower-case letters, "
                    "digits and dots, e.g. cleanup.policy)"
                )
            label = name.replace(".", "_")
            if label in cls.reserved_labels:
                raise ValueError(f"topic_configs: {name!r} would be the reserved label {label!r}")
            if label in seen:
                raise ValueError(f"topic_configs: {name!r} is listed twice")
            seen.add(label)
        return names

    @model_validator(mode="after")
    def _topic_config_labels_free(self) -> KafkaConfig:
        """A topic config's label must not be one of the collector's own `labels` too."""
        for name in self.topic_configs:
            if name.replace(".", "_") in self.labels:
                raise ValueError(
                    f"topic_configs: {name!r} is the label {name.replace('.', '_')!r} also set "
                    "in labels; drop one of them"
                )
        return self

    @field_validator("sasl_oauth_token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("expected an http:// or https:// URL with a host")
        return value

    @field_validator("ssl_server_name")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        if value is not None and not _SERVER_NAME.match(value):
            raise ValueError("expected a host name (letters, digits, - and .; no port)")
        return value

    @model_validator(mode="after")
    def _security_settings_fit(self) -> KafkaConfig:
        found = rules.problems(self.__dict__)
        if found:
            raise ValueError("; ".join(found))
        return self

    def secret_values(self) -> list[str]:
        """The configured secrets, for masking in messages."""
        secrets = (self.sasl_password, self.sasl_oauth_client_secret, self.ssl_key_password)
        return [secret for secret in secrets if secret]

    @property
    def cluster_label(self) -> str:
        """Value of the `cluster` label: `cluster`, else the collector name."""
        return self.cluster or self.name

    def summary(self) -> str:
        """One line for `check-config`."""
        return (
            f"{super().summary()}; cluster {self.cluster_label!r} at "
            f"{','.join(self.bootstrap_servers)} ({self.security_protocol}"
            f"{', ' + self.sasl_mechanism if self.sasl_mechanism else ''})"
            + (f"; shard {self.shard.index} of {self.shard.count}" if self.shard else "")
        )

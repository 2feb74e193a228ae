"""Config model of the `aliyun_cms` collector kind (Alibaba Cloud CloudMonitor backlog)."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from exporter.collectors.base import CollectorConfig
from exporter.schema.types import Duration, Flag, MetricName, NameFilter

NAMESPACE = "acs_kafka"
"""CloudMonitor namespace of ApsaraMQ for Kafka."""
PERIOD_S = 60
"""CloudMonitor resolution of the Kafka metrics, in seconds."""
MAX_INSTANCES_PER_CALL = 50
"""DescribeMetricList accepts at most 50 instances in `Dimensions`."""
MAX_PAGE_SIZE = 1440
"""The largest `Length` DescribeMetricList accepts."""
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""16 MiB: a full page of 1440 points is about 0.3 MB."""
MAX_DATAPOINTS_PER_REPLY = 100_000
"""Points one DescribeMetricList answer may hold (a page holds at most `Length` <= 1440): more is
`invalid_response`, refused before they are decoded (5 million `{}` in 15 MB cost 506 MB)."""
DEFAULT_MAX_DATAPOINTS = 1_000_000
"""Points one refresh may decode over all its pages (about 3 per series and metric)."""
RESERVED_NAMES = (
    "aliyun_cms_datapoint_timestamp_seconds",
    "aliyun_cms_api_calls",
    "aliyun_cms_datapoints_invalid",
)
DEFAULT_METRIC = ("message_accumulation", "kafka_consumer_message_accumulation")
"""(cms_metric, name) of the default metric: the catalogue's own family, not a named one."""

_CMS_METRIC = re.compile(r"^[A-Za-z0-9_.]+$")
_REGION = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")


class CmsMetric(BaseModel):
    """One CloudMonitor metric to export, and the Prometheus name it gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cms_metric: str
    name: MetricName

    @field_validator("cms_metric")
    @classmethod
    def _cms_metric_is_simple(cls, value: str) -> str:
        if not _CMS_METRIC.match(value):
            raise ValueError("expected a CloudMonitor metric name like message_accumulation")
        return value

    @field_validator("name")
    @classmethod
    def _name_is_prometheus(cls, value: str) -> str:
        if value in RESERVED_NAMES or value.startswith("kafka_health_exporter_"):
            raise ValueError("this name is used by the exporter itself")
        return value


def _default_metrics() -> list[CmsMetric]:
    return [
        CmsMetric(cms_metric="message_accumulation", name="kafka_consumer_message_accumulation")
    ]


class AliyunCmsConfig(CollectorConfig):
    """Consumer-group backlog of ApsaraMQ for Kafka instances, read from CloudMonitor."""

    default_interval: ClassVar[float | None] = 60.0
    reserved_labels: ClassVar[frozenset[str]] = frozenset(
        {"code", "collector", "consumer_group", "instance_id", "metric", "reason", "type"}
    )
    """Labels of the kind's catalogue and of the collector self-metrics."""
    family_names: ClassVar[frozenset[str]] = frozenset(
        {"kafka_consumer_message_accumulation", "aliyun_cms_datapoint_timestamp_seconds"}
        | {"aliyun_cms_api_calls", "aliyun_cms_api_calls_total"}
        | {"aliyun_cms_datapoints_invalid", "aliyun_cms_datapoints_invalid_total"}
    )

    type: Literal["aliyun_cms"]
    region_id: str
    access_key_id: str = Field(repr=False)
    access_key_secret: SecretStr = Field(repr=False)
    endpoint: str = ""
    instance_ids: list[str]
    groups: NameFilter = Field(default_factory=NameFilter)
    """Every group by default (include .*, exclude nothing)."""
    skip_zero: Flag = False
    metrics: list[CmsMetric] = Field(default_factory=_default_metrics)
    page_size: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)
    lookback: Duration = 180.0
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=64 * 1024, le=1 << 30)
    """Largest DescribeMetricList answer read (decoded); a larger one is `invalid_response`."""
    max_datapoints: int = Field(default=DEFAULT_MAX_DATAPOINTS, ge=MAX_PAGE_SIZE, le=10_000_000)
    """Points one refresh may decode over all its pages; more is `invalid_response`."""

    @field_validator("region_id")
    @classmethod
    def _region_is_simple(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("expected a region id like cn-hangzhou")
        return value

    @field_validator("access_key_id")
    @classmethod
    def _key_id_is_set(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("access_key_secret")
    @classmethod
    def _secret_is_set(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_host(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        scheme, sep, host = value.rpartition("://")
        if value and ((sep and scheme not in ("http", "https")) or not _HOST_PORT.match(host)):
            raise ValueError("expected HOST[:PORT], https://HOST[:PORT] or http://HOST[:PORT]")
        return value

    @field_validator("instance_ids")
    @classmethod
    def _instances_are_listed(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one Kafka instance id")
        for instance in value:
            if not instance.strip():
                raise ValueError("instance ids must not be empty")
        if len(set(value)) != len(value):
            raise ValueError("instance ids must be unique")
        return value

    @field_validator("lookback")
    @classmethod
    def _lookback_spans_periods(cls, value: float) -> float:
        if not PERIOD_S <= value <= 3600:
            raise ValueError(f"expected between {PERIOD_S}s and 1h")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics_are_unique(cls, value: list[CmsMetric]) -> list[CmsMetric]:
        if not value:
            raise ValueError("expected at least one entry")
        names = [m.name for m in value]
        sources = [m.cms_metric for m in value]
        if len(set(names)) != len(names):
            raise ValueError("each name may appear only once")
        if len(set(sources)) != len(sources):
            raise ValueError("each cms_metric may appear only once")
        return value

    def named_families(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Each metric's family at `metrics[i].name`, except the default message_accumulation
        one (a catalogue family)."""
        return [
            (("metrics", i, "name"), m.name)
            for i, m in enumerate(self.metrics)
            if (m.cms_metric, m.name) != DEFAULT_METRIC
        ]

    @property
    def api_endpoint(self) -> str:
        """`host[:port]` of the CloudMonitor API."""
        if not self.endpoint:
            return f"metrics.{self.region_id}.aliyuncs.com"
        return self.endpoint.rpartition("://")[2]

    @property
    def api_protocol(self) -> str:
        """`http` only when the endpoint says so (tests); otherwise `https`."""
        return "http" if self.endpoint.startswith("http://") else "https"

    @property
    def masked_key_id(self) -> str:
        """The access key id with all but its first four characters hidden."""
        return mask_key_id(self.access_key_id)

    def summary(self) -> str:
        """One line for `check-config`; the key id is masked, the secret never shown."""
        metrics = ", ".join(m.cms_metric for m in self.metrics)
        return (
            f"{super().summary()}; {len(self.instance_ids)} instance(s) in {self.region_id}"
            f" via {self.api_protocol}://{self.api_endpoint}; metrics {metrics};"
            f" key {self.masked_key_id}"
        )


def mask_key_id(key_id: str) -> str:
    """`LTAI****` for `LTAI5tXXXXXX`: enough to tell keys apart, not enough to use one."""
    return key_id[:4] + "****" if len(key_id) > 8 else "****"

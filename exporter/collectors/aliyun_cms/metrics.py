"""Catalogue of the `aliyun_cms` collector's metrics and the pure conversion from CmsState."""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.aliyun_cms.config import NAMESPACE, AliyunCmsConfig, CmsMetric
from exporter.collectors.aliyun_cms.datapoints import INVALID_REASONS
from exporter.collectors.aliyun_cms.state import CmsState
from exporter.collectors.families import MetricSpec, build_families

SERIES_LABELS = ("instance_id", "consumer_group")

MESSAGE_ACCUMULATION = MetricSpec(
    "kafka_consumer_message_accumulation",
    "gauge",
    "Messages the consumer group has not consumed yet on the ApsaraMQ for Kafka instance "
    "(CloudMonitor acs_kafka message_accumulation, newest point).",
    SERIES_LABELS,
)
DATAPOINT_TIMESTAMP = MetricSpec(
    "aliyun_cms_datapoint_timestamp_seconds",
    "gauge",
    "Unix time of the CloudMonitor point behind each exported value; alert when it falls behind.",
    ("metric", *SERIES_LABELS),
)
API_CALLS = MetricSpec(
    "aliyun_cms_api_calls",
    "counter",
    "CloudMonitor DescribeMetricList calls made by the collector since start (retries and calls "
    "of failed refreshes included), by result code.",
    ("collector", "code"),
)

DATAPOINTS_INVALID = MetricSpec(
    "aliyun_cms_datapoints_invalid",
    "counter",
    "CloudMonitor points dropped since start instead of exported, by metric and reason "
    "(negative, not_a_number, not_finite, missing_value, missing_label, missing_timestamp, "
    "invalid_timestamp).",
    ("collector", "metric", "reason"),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    MESSAGE_ACCUMULATION,
    DATAPOINT_TIMESTAMP,
    API_CALLS,
    DATAPOINTS_INVALID,
)


def value_spec(metric: CmsMetric) -> MetricSpec:
    """The family a configured CloudMonitor metric is exported as."""
    if (metric.cms_metric, metric.name) == ("message_accumulation", MESSAGE_ACCUMULATION.name):
        return MESSAGE_ACCUMULATION
    return MetricSpec(
        metric.name,
        "gauge",
        f"CloudMonitor {NAMESPACE} {metric.cms_metric} per consumer group (newest point).",
        SERIES_LABELS,
    )


def to_metrics(state: CmsState, config: AliyunCmsConfig) -> list[Metric]:
    """Metric families for one refresh; series in `state` are already filtered."""
    const = config.labels
    builders = []
    timestamps = DATAPOINT_TIMESTAMP.family(const)
    for metric in config.metrics:
        values = value_spec(metric).family(const)
        for (instance, group), point in sorted(state.series.get(metric.cms_metric, {}).items()):
            values.add([instance, group], point.value)
            timestamps.add([metric.cms_metric, instance, group], point.timestamp)
        builders.append(values)
    calls = API_CALLS.family(const)
    for code, count in sorted(state.api_calls.items()):
        calls.add([config.name, code], count)
    invalid = DATAPOINTS_INVALID.family(const)
    for metric in config.metrics:  # every reason from 0, so increase() sees the first drop
        for reason in INVALID_REASONS:
            count = state.invalid.get((metric.cms_metric, reason), 0)
            invalid.add([config.name, metric.cms_metric, reason], count)
    return build_families([*builders, timestamps, calls, invalid])

"""The `aliyun_cms` collector's conversion of its state to metric families."""

from __future__ import annotations

from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from exporter.collectors.aliyun_cms.datapoints import INVALID_REASONS
from exporter.collectors.aliyun_cms.metrics import to_metrics
from exporter.collectors.aliyun_cms.state import CmsState, Datapoint
from tests.support.aliyun_cms_inputs import cms_config
from tests.support.exporter_process import parse_metrics, value


def _exposition(families: list[Metric]) -> str:
    class Families(Collector):
        def collect(self) -> list[Metric]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families())
    return generate_latest(registry).decode()


def test_to_metrics_exact_series() -> None:
    config = cms_config(labels={"env": "prod"})
    state = CmsState(
        series={
            "message_accumulation": {
                ("alikafka-a", "orders"): Datapoint(1700000040.0, 42.0),
                ("alikafka-b", "billing"): Datapoint(1700000100.0, 0.0),
            }
        },
        api_calls={"200": 5, "Throttling.User": 2},
        calls=3,
        invalid={("message_accumulation", "negative"): 4},
    )
    m = parse_metrics(_exposition(to_metrics(state, config)))
    acc = "kafka_consumer_message_accumulation"
    assert value(m, acc, instance_id="alikafka-a", consumer_group="orders", env="prod") == 42
    assert value(m, acc, instance_id="alikafka-b", consumer_group="billing", env="prod") == 0
    ts = "aliyun_cms_datapoint_timestamp_seconds"
    assert (
        value(
            m, ts, metric="message_accumulation", instance_id="alikafka-a", consumer_group="orders"
        )
        == 1700000040.0
    )
    calls = "aliyun_cms_api_calls_total"
    assert value(m, calls, collector="ali", code="200", env="prod") == 5
    assert value(m, calls, collector="ali", code="Throttling.User") == 2
    invalid = "aliyun_cms_datapoints_invalid_total"
    assert value(m, invalid, collector="ali", metric="message_accumulation", reason="negative") == 4
    assert value(m, invalid, metric="message_accumulation", reason="not_a_number") == 0
    assert len(m) == 6 + len(INVALID_REASONS)  # every reason from 0


def test_custom_metric_names() -> None:
    config = cms_config(
        metrics=[
            {"cms_metric": "message_accumulation", "name": "backlog"},
            {"cms_metric": "consumer_lag_ms", "name": "consumer_delay_ms"},
        ]
    )
    state = CmsState(
        series={
            "message_accumulation": {("alikafka-a", "g"): Datapoint(10.0, 3.0)},
            "consumer_lag_ms": {("alikafka-a", "g"): Datapoint(20.0, 1500.0)},
        },
        api_calls={"200": 2},
    )
    families = {f.name: f for f in to_metrics(state, config)}
    assert families["backlog"].samples[0].value == 3.0
    assert families["consumer_delay_ms"].samples[0].value == 1500.0
    stamps = {
        s.labels["metric"]: s.value
        for s in families["aliyun_cms_datapoint_timestamp_seconds"].samples
    }
    assert stamps == {"message_accumulation": 10.0, "consumer_lag_ms": 20.0}
    assert "kafka_consumer_message_accumulation" not in families

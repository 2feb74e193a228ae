"""The pure parts of the `aliyun_cms` collector: datapoints, selection, conversion, config."""

from __future__ import annotations

import json

import pytest
from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from exporter.collectors.aliyun_cms import AliyunCmsCollector
from exporter.collectors.aliyun_cms.client import CmsError, is_retryable
from exporter.collectors.aliyun_cms.config import AliyunCmsConfig, mask_key_id
from exporter.collectors.aliyun_cms.datapoints import (
    MalformedDatapoints,
    merge_newest,
    parse_datapoints,
    point_value,
    select,
)
from exporter.collectors.aliyun_cms.metrics import to_metrics
from exporter.collectors.aliyun_cms.pager import batches, dimensions
from exporter.collectors.aliyun_cms.state import CmsState, Datapoint
from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError
from exporter.schema.types import NameFilter
from tests.support.exporter_process import parse_metrics, value

KEY_ID = "LTAI5tExampleKeyId42"
SECRET = "sEcReT-value-9x"


def _config(**overrides: object) -> AliyunCmsConfig:
    raw: dict[str, object] = {
        "name": "ali",
        "type": "aliyun_cms",
        "region_id": "cn-hangzhou",
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "instance_ids": ["alikafka-a", "alikafka-b"],
        "interval": 60,
        "timeout": 10,
        **overrides,
    }
    return AliyunCmsConfig.model_validate(raw)


# --- Datapoints ----------------------------------------------------------------------------


def test_datapoints_is_a_json_string_of_objects() -> None:
    text = json.dumps([{"timestamp": 1, "instanceId": "a"}])
    assert parse_datapoints(text) == [{"timestamp": 1, "instanceId": "a"}]
    assert parse_datapoints(None) == []
    assert parse_datapoints("") == []
    assert parse_datapoints("[]") == []
    assert parse_datapoints([{"timestamp": 1}]) == [{"timestamp": 1}]


@pytest.mark.parametrize(
    "text", ['[{"timestamp": 1', '{"timestamp": 1}', "[1, 2]", '["a"]', "null", 42, {"a": 1}]
)
def test_malformed_datapoints_are_an_error(text: object) -> None:
    with pytest.raises(MalformedDatapoints):
        parse_datapoints(text)


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ({"Value": 7, "Maximum": 9, "Average": 8}, 7.0),
        ({"Maximum": 9, "Average": 8}, 9.0),
        ({"Average": 8}, 8.0),
        ({"Value": 0, "Maximum": 9}, 0.0),  # a real 0 is a real 0
        ({"Value": None, "Maximum": 0, "Average": 5}, 0.0),
        ({"Value": "12", "Average": 5}, 12.0),
        ({"Value": "n/a", "Average": 5}, 5.0),
        ({"Value": True, "Average": 5}, 5.0),
        ({"Minimum": 3}, None),
        ({}, None),
    ],
)
def test_value_falls_through_value_maximum_average(point: dict, expected: float | None) -> None:
    assert point_value(point) == expected


def _p(ts: int, group: str = "g", instance: str = "i", **values: object) -> dict:
    return {"timestamp": ts, "instanceId": instance, "consumerGroup": group, **values}


def test_newest_point_per_group_wins_whatever_the_order() -> None:
    newest: dict = {}
    skipped = merge_newest(
        newest,
        [
            _p(120_000, Value=5),
            _p(180_000, Value=7),
            _p(60_000, Value=1),
            _p(60_000, group="h", Average=3),
            _p(240_000, group="h"),  # newest but no value at all: the older point stays
            {"timestamp": 300_000, "instanceId": "i", "Value": 1},  # no group
            {"instanceId": "i", "consumerGroup": "g", "Value": 99},  # no timestamp
        ],
    )
    assert skipped == 3
    assert newest == {("i", "g"): Datapoint(180.0, 7.0), ("i", "h"): Datapoint(60.0, 3.0)}
    merge_newest(newest, [_p(150_000, Value=100)])  # older page later: ignored
    assert newest[("i", "g")] == Datapoint(180.0, 7.0)


def test_select_filters_instances_groups_and_zeros() -> None:
    newest = {
        ("a", "orders"): Datapoint(1.0, 0.0),
        ("a", "billing"): Datapoint(1.0, 4.0),
        ("a", "billing-test"): Datapoint(1.0, 4.0),
        ("other", "orders"): Datapoint(1.0, 9.0),
    }
    groups = NameFilter(include=["orders", "billing.*"], exclude=[".*-test"])
    assert list(select(newest, ["a"], groups, skip_zero=False)) == [
        ("a", "billing"),
        ("a", "orders"),
    ]
    assert list(select(newest, ["a"], groups, skip_zero=True)) == [("a", "billing")]


def test_dimensions_ask_for_all_instances_in_batches_of_50() -> None:
    assert json.loads(dimensions(["a", "b"])) == [{"instanceId": "a"}, {"instanceId": "b"}]
    ids = [f"i{n}" for n in range(120)]
    assert [len(b) for b in batches(ids)] == [50, 50, 20]


# --- conversion ----------------------------------------------------------------------------


def _exposition(families: list[Metric]) -> str:
    class Families(Collector):
        def collect(self) -> list[Metric]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families())
    return generate_latest(registry).decode()


def test_to_metrics_exact_series() -> None:
    config = _config(labels={"env": "prod"})
    state = CmsState(
        series={
            "message_accumulation": {
                ("alikafka-a", "orders"): Datapoint(1700000040.0, 42.0),
                ("alikafka-b", "billing"): Datapoint(1700000100.0, 0.0),
            }
        },
        api_calls={"200": 5, "Throttling.User": 2},
        calls=3,
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
    assert len(m) == 6


def test_custom_metric_names() -> None:
    config = _config(
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


# --- config --------------------------------------------------------------------------------


def test_config_from_yaml_with_env_and_defaults() -> None:
    text = """
collectors:
  - name: aliyun-prod
    type: aliyun_cms
    region_id: ${REGION_ID}
    access_key_id: ${ACCESS_KEY_ID}
    access_key_secret: ${ACCESS_KEY_SECRET}
    endpoint: ""
    instance_ids: ["alikafka_pre-cn-xxxx"]
    groups: {include: [".*"], exclude: []}
    skip_zero: false
    metrics:
      - cms_metric: message_accumulation
        name: kafka_consumer_message_accumulation
"""
    env = {"REGION_ID": "cn-shanghai", "ACCESS_KEY_ID": KEY_ID, "ACCESS_KEY_SECRET": SECRET}
    (entry,) = parse_config(text, "c.yaml", env).collectors
    assert isinstance(entry, AliyunCmsConfig)
    assert entry.interval == 60.0  # the kind's default
    assert entry.api_endpoint == "metrics.cn-shanghai.aliyuncs.com"
    assert entry.api_protocol == "https"
    assert entry.access_key_secret.get_secret_value() == SECRET
    assert SECRET not in repr(entry) and KEY_ID not in repr(entry)
    assert KEY_ID not in entry.summary() and SECRET not in entry.summary()
    assert "LTAI****" in entry.summary()


@pytest.mark.parametrize(
    ("endpoint", "host", "protocol"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", "http"),
        ("https://metrics.example.com/", "metrics.example.com", "https"),
        ("metrics.vpc-proxy.local:443", "metrics.vpc-proxy.local:443", "https"),
    ],
)
def test_endpoint_forms(endpoint: str, host: str, protocol: str) -> None:
    config = _config(endpoint=endpoint)
    assert (config.api_endpoint, config.api_protocol) == (host, protocol)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"region_id": "CN Hangzhou"}, "collectors[0].region_id: invalid value 'CN Hangzhou'"),
        ({"instance_ids": []}, "collectors[0].instance_ids: invalid value []"),
        ({"instance_ids": ["a", "a"]}, "instance ids must be unique"),
        ({"endpoint": "ftp://x"}, "collectors[0].endpoint: invalid value 'ftp://x'"),
        ({"page_size": 5000}, "collectors[0].page_size: invalid value 5000"),
        ({"lookback": "10s"}, "collectors[0].lookback"),
        ({"groups": {"include": ["("]}}, "collectors[0].groups.include[0]"),
        ({"metrics": [{"cms_metric": "x", "name": "bad name"}]}, "collectors[0].metrics[0].name"),
        (
            {"metrics": [{"cms_metric": "x", "name": "aliyun_cms_api_calls"}]},
            "used by the exporter itself",
        ),
        (
            {"metrics": [{"cms_metric": "x", "name": "a"}, {"cms_metric": "y", "name": "a"}]},
            "each name may appear only once",
        ),
        ({"access_key_secret": ""}, "collectors[0].access_key_secret: invalid value ''"),
        (
            {"access_key_secrets": "typo"},
            "collectors[0].access_key_secrets: unknown key (value '***')",
        ),
        ({"timeout": "90s"}, "must be shorter than the interval (60s)"),
    ],
)
def test_bad_config_names_key_and_value(entry: dict, expected: str) -> None:
    base = {
        "name": "ali",
        "type": "aliyun_cms",
        "region_id": "cn-hangzhou",
        "access_key_id": KEY_ID,
        "access_key_secret": SECRET,
        "instance_ids": ["alikafka-a"],
    }
    text = json.dumps({"collectors": [{**base, **entry}]})
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cfg.yaml", env={})
    message = str(caught.value)
    assert "cfg.yaml: " in message
    assert expected in message, message
    assert SECRET not in message and KEY_ID not in message


def test_wrong_key_values_are_masked_in_errors() -> None:
    text = json.dumps(
        {
            "collectors": [
                {
                    "name": "ali",
                    "type": "aliyun_cms",
                    "region_id": "cn-hangzhou",
                    "access_key_id": ["not", "a", "string"],
                    "access_key_secret": {"nested": SECRET},
                    "instance_ids": ["a"],
                }
            ]
        }
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cfg.yaml", env={})
    message = str(caught.value)
    assert "collectors[0].access_key_id: invalid value '***'" in message
    assert "collectors[0].access_key_secret: " in message
    assert SECRET not in message


# --- errors --------------------------------------------------------------------------------


def test_mask_key_id() -> None:
    assert mask_key_id("LTAI5tExampleKeyId42") == "LTAI****"
    assert mask_key_id("short") == "****"


def test_retryable_codes() -> None:
    assert is_retryable("Throttling.User", 400)
    assert is_retryable("Throttling.Api", None)
    assert is_retryable("Whatever", 429)
    assert is_retryable("InternalError", 500)
    assert is_retryable("ServiceUnavailable", 503)
    assert not is_retryable("SignatureDoesNotMatch", 400)
    assert not is_retryable("InvalidAccessKeyId.NotFound", 404)
    assert not is_retryable("timeout", None)


def test_describe_error_has_code_message_request_id_and_no_credentials() -> None:
    collector = AliyunCmsCollector(_config())
    error = CmsError(
        f"Specified access key {KEY_ID} with secret {SECRET} is not found.",
        code="InvalidAccessKeyId.NotFound",
        request_id="3121AE7D-4AFF-4C25-8F1D-C8226EBB1F42",
        status=404,
    )
    text = collector.describe_error(error)
    assert text == (
        "InvalidAccessKeyId.NotFound: Specified access key LTAI**** with secret *** is not found."
        " (HTTP 404, RequestId 3121AE7D-4AFF-4C25-8F1D-C8226EBB1F42)"
    )
    assert collector.describe_error(ValueError(f"boom {SECRET}")) == "ValueError: boom ***"

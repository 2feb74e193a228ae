"""The `aliyun_cms` collector's config: YAML with env and defaults, endpoints, errors naming key
and value with credentials masked."""

from __future__ import annotations

import json

import pytest

from exporter.collectors.aliyun_cms.config import AliyunCmsConfig
from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError
from tests.support.aliyun_cms_inputs import KEY_ID, SECRET, cms_config


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
    config = cms_config(endpoint=endpoint)
    assert (config.api_endpoint, config.api_protocol) == (host, protocol)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"region_id": "CN Hangzhou"}, "collectors[0].region_id: invalid value 'CN Hangzhou'"),
        ({"instance_ids": []}, "collectors[0].instance_ids: invalid value []"),
        ({"instance_ids": ["a", "a"]}, "instance ids must be unique"),
        ({"endpoint": "ftp://x"}, "collectors[0].endpoint: invalid value 'ftp://x'"),
        ({"page_size": 5000}, "collectors[0].page_size: invalid value 5000"),
        ({"max_datapoints": 5}, "collectors[0].max_datapoints: invalid value 5"),
        ({"max_datapoints": 10**8}, "collectors[0].max_datapoints: invalid value 100000000"),
        ({"max_datapoints": "many"}, "collectors[0].max_datapoints: invalid value 'many'"),
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

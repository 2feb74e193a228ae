"""Inputs for the aliyun_cms collector's unit tests: example credentials and a validated config."""

from __future__ import annotations

from exporter.collectors.aliyun_cms.config import AliyunCmsConfig

KEY_ID = "LTAI5tExampleKeyId42"
SECRET = "sEcReT-value-9x"


def cms_config(**overrides: object) -> AliyunCmsConfig:
    """Collector `ali` on two instances with the example credentials, `overrides` applied."""
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

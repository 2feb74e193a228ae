"""topic_configs names: Kafka's spelling only, never a reserved or the collector's own label."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.metrics.info_metrics import config_label


def _config(**extra: Any) -> KafkaConfig:
    base = {"name": "k", "type": "kafka", "bootstrap_servers": ["127.0.0.1:9092"]}
    return KafkaConfig.model_validate({**base, **extra})


def test_kafka_config_names_are_taken() -> None:
    names = ["cleanup.policy", "retention.ms", "min.insync.replicas", "segment.bytes"]
    assert _config(topic_configs=names).topic_configs == names
    assert [config_label(n) for n in names] == [
        "cleanup_policy",
        "retention_ms",
        "min_insync_replicas",
        "segment_bytes",
    ]
    assert _config().topic_configs == [] and _config().cluster_info is False


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("Cleanup.Policy", "'Cleanup.Policy' is not a topic config name"),
        ("cleanup_policy", "'cleanup_policy' is not a topic config name"),
        ("retention..ms", "'retention..ms' is not a topic config name"),
        ("9retention", "'9retention' is not a topic config name"),
        ("", "'' is not a topic config name"),
        ("topic", "'topic' would be the reserved label 'topic'"),
        ("cluster", "'cluster' would be the reserved label 'cluster'"),
    ],
)
def test_bad_names_are_refused_by_value(value: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _config(topic_configs=["retention.ms", value])
    assert "topic_configs" in str(caught.value) and says in str(caught.value)


def test_twice_and_label_clash_are_refused() -> None:
    with pytest.raises(ValidationError, match=re.escape("'retention.ms' is listed twice")):
        _config(topic_configs=["retention.ms", "retention.ms"])
    with pytest.raises(
        ValidationError, match=re.escape("'cleanup.policy' is the label 'cleanup_policy'")
    ):
        _config(topic_configs=["cleanup.policy"], labels={"cleanup_policy": "x"})

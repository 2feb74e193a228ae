"""`shard: {count, index}`: the index from a number, an environment variable or a StatefulSet pod
name; clear errors naming the key; a group-to-shard hash that never changes between releases."""

from __future__ import annotations

import pytest

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.shard import shard_of
from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError

CONFIG = """
collectors:
  - name: lag
    type: kafka
    bootstrap_servers: "127.0.0.1:9092"
    shard:
      count: 3
      index: {index}
"""


def _shard(index: str, env: dict[str, str] | None = None) -> tuple[int, int]:
    config = parse_config(CONFIG.format(index=index), "c.yaml", env or {})
    collector = config.collectors[0]
    assert isinstance(collector, KafkaConfig) and collector.shard is not None
    return collector.shard.index, collector.shard.count


def _error(index: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.format(index=index), "c.yaml", env or {})
    return str(caught.value)


def test_index_from_a_number_an_environment_variable_or_a_pod_name() -> None:
    assert _shard("2") == (2, 3)
    assert _shard("${SHARD}", {"SHARD": "1"}) == (1, 3)
    assert _shard("${POD_NAME}", {"POD_NAME": "khe-kafka-health-exporter-2"}) == (2, 3)


@pytest.mark.parametrize(
    ("index", "env", "wanted"),
    [
        ("3", {}, "c.yaml: collectors[0].shard: index 3 is not in 0..2 (count is 3)"),
        ("-1", {}, "collectors[0].shard: index -1 is not in 0..2"),
        (
            "kafka-exporter",
            {},
            "collectors[0].shard.index: invalid value 'kafka-exporter': expected",
        ),
        ("${POD_NAME}", {"POD_NAME": "khe-7"}, "collectors[0].shard: index 7 is not in 0..2"),
    ],
)
def test_bad_index_is_an_error_naming_file_and_key(
    index: str, env: dict[str, str], wanted: str
) -> None:
    message = _error(index, env)
    assert "c.yaml" in message and wanted in message, message


def test_no_shard_reads_every_group() -> None:
    config = parse_config(CONFIG.split("    shard:")[0], "c.yaml", {})
    collector = config.collectors[0]
    assert isinstance(collector, KafkaConfig) and collector.shard is None


def test_the_hash_is_stable_and_spreads_groups() -> None:
    """Pinned: a release that changed these would move every group to another replica."""
    assert [
        shard_of(g, n) for g, n in [("orders-consumer", 3), ("billing", 3), ("billing", 7)]
    ] == [
        1,
        2,
        4,
    ]
    counts = [0, 0, 0]
    for i in range(3000):
        counts[shard_of(f"group-{i}", 3)] += 1
    assert all(900 < c < 1100 for c in counts), counts

"""The `log_dirs` option on real Kafka 4.x: after records are produced, every partition's size
equals what the broker's own `kafka-log-dirs --describe` (LogDirsCommand) prints, the log dir's
total covers the topics the filter leaves out, one DescribeLogDirs per broker a refresh; with the
option off there is no such request and no such series."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable

from prometheus_client.core import Metric

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import create_topics, delete_topics, produce, unique
from tests.support.kafka_jars import KAFKA_4, java_command

LOG_DIR_FAMILIES = {
    "kafka_log_dir_partition_size_bytes",
    "kafka_log_dir_topic_size_bytes",
    "kafka_log_dir_size_bytes",
    "kafka_log_dir_volume_total_bytes",
    "kafka_log_dir_volume_usable_bytes",
    "kafka_log_dir_error",
}

Sizes = dict[tuple[str, str, str, str], float]
"""(broker, log dir, topic, partition) -> bytes."""


def kafka_log_dirs(bootstrap: str, topics: Iterable[str] = ()) -> dict[str, object]:
    """The JSON `kafka-log-dirs --describe` prints (LogDirsCommand from Kafka's jars)."""
    args = ["--bootstrap-server", bootstrap.split(",")[0], "--describe"]
    if topics:
        args += ["--topic-list", ",".join(topics)]
    command = java_command(KAFKA_4, "org.apache.kafka.tools.LogDirsCommand", *args)
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    line = next(line for line in out.stdout.splitlines() if line.startswith("{"))
    parsed: dict[str, object] = json.loads(line)
    return parsed


def command_sizes(described: dict[str, object]) -> Sizes:
    """Every partition replica's size the command printed."""
    out: Sizes = {}
    for broker in described["brokers"]:  # type: ignore[attr-defined]
        for log_dir in broker["logDirs"]:
            assert log_dir["error"] is None, log_dir
            for part in log_dir["partitions"]:
                topic, _, number = part["partition"].rpartition("-")
                out[(str(broker["broker"]), log_dir["logDir"], topic, number)] = part["size"]
    return out


def samples(families: Iterable[Metric], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in families
        if family.name == name
        for s in family.samples
    }


def _config(bootstrap: str, topic: str, log_dirs: bool) -> KafkaConfig:
    return KafkaConfig(
        name="dirs",
        type="kafka",
        bootstrap_servers=[bootstrap],
        cluster="c1",
        interval=5.0,
        timeout=4.0,
        topics={"include": [f"^{topic}$"]},
        time_lag={"method": "off"},
        log_dirs=log_dirs,
    )


async def test_sizes_equal_kafka_log_dirs_and_off_means_none(broker: KafkaCluster) -> None:
    topic, other = unique("dirs"), unique("dirs-excluded")
    bootstrap = broker.bootstrap
    await create_topics(bootstrap, {topic: 3, other: 1})
    try:
        await produce(bootstrap, topic, {0: 200, 1: 50, 2: 0}, batch=True)
        await produce(bootstrap, other, {0: 30}, batch=True)
        expected = command_sizes(kafka_log_dirs(bootstrap, [topic]))
        by_number = {k[3]: v for k, v in expected.items()}
        assert len(expected) == 3 and by_number["0"] > by_number["1"] > by_number["2"] == 0

        collector = KafkaCollector(_config(bootstrap, topic, True))
        try:
            before = collector._reader.requests["DescribeLogDirs"]
            refresh = await collector.fetch()
            assert collector._reader.requests["DescribeLogDirs"] - before == len(broker.nodes)
            families = collector.to_metrics(refresh)
        finally:
            await collector.close()
        parts = samples(families, "kafka_log_dir_partition_size_bytes")
        got = {
            (d["broker"], d["log_dir"], d["topic"], d["partition"]): v
            for d, v in ((dict(k), v) for k, v in parts.items())
        }
        assert got == expected  # every partition, the empty one (0 bytes) too; `other` filtered
        assert all(dict(k)["cluster"] == "c1" for k in parts)
        assert samples(families, "kafka_log_dir_topic_size_bytes") == {
            (("cluster", "c1"), ("topic", topic)): sum(expected.values())
        }

        # The dir's total covers every topic, the excluded one and __consumer_offsets included.
        everything = command_sizes(kafka_log_dirs(bootstrap))
        (node, path) = {(k[0], k[1]) for k in expected}.pop()
        totals = samples(families, "kafka_log_dir_size_bytes")
        total = totals[(("broker", node), ("cluster", "c1"), ("log_dir", path))]
        other_size = sum(v for k, v in everything.items() if k[2] == other)
        assert other_size > 0
        assert total >= sum(expected.values()) + other_size
        assert total <= sum(v for k, v in everything.items() if k[1] == path)
        # v4 (Kafka 4.x): the volume the dir is on.
        key = (("broker", node), ("cluster", "c1"), ("log_dir", path))
        volume = samples(families, "kafka_log_dir_volume_total_bytes")[key]
        usable = samples(families, "kafka_log_dir_volume_usable_bytes")[key]
        assert volume >= usable > 0
        assert not samples(families, "kafka_log_dir_error")

        off = KafkaCollector(_config(bootstrap, topic, False))
        try:
            refresh = await off.fetch()
            names = {family.name for family in off.to_metrics(refresh)}
            assert off._reader.requests["DescribeLogDirs"] == 0
        finally:
            await off.close()
        assert refresh.state.log_dirs == {}
        assert "kafka_topic_partition_current_offset" in names
        assert not names & LOG_DIR_FAMILIES
    finally:
        await delete_topics(bootstrap, [topic, other])

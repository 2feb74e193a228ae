"""The `log_dirs` option on real Kafka 4.x: after records are produced, every partition's size
equals what the broker's own `kafka-log-dirs --describe` (LogDirsCommand) prints, the log dir's
total covers the topics the filter leaves out, one DescribeLogDirs per broker a refresh; with the
option off there is no such request and no such series. On three nodes with two log dirs each,
every replica in every dir matches the command, and a dir taken away from under a broker (the
broker marks it offline at its next checkpoint) becomes an error series while the others stay."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from prometheus_client.core import Metric

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import create_topics, delete_topics, produce, unique
from tests.support.kafka_jars import KAFKA_4, java_command
from tests.support.kafka_node import KafkaNode
from tests.support.kafka_placement import create_placed_topics, produce_all

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


def partition_sizes(families: Iterable[Metric]) -> Sizes:
    """The collector's kafka_log_dir_partition_size_bytes, keyed as `command_sizes`."""
    return {
        (d["broker"], d["log_dir"], d["topic"], d["partition"]): v
        for d, v in (
            (dict(k), v) for k, v in samples(families, "kafka_log_dir_partition_size_bytes").items()
        )
    }


def _config(bootstrap: str, topic: str, log_dirs: bool) -> KafkaConfig:
    return KafkaConfig.model_validate(
        {
            "name": "dirs",
            "type": "kafka",
            "bootstrap_servers": bootstrap.split(","),
            "cluster": "c1",
            "interval": 5.0,
            "timeout": 4.0,
            "topics": {"include": [f"^{topic}$"]},
            "time_lag": {"method": "off"},
            "log_dirs": log_dirs,
        }
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
        # every partition, the empty one (0 bytes) too; `other` left out by the filter
        assert partition_sizes(families) == expected
        parts = samples(families, "kafka_log_dir_partition_size_bytes")
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


class TwoDirCluster(KafkaCluster):
    """Nodes with two log dirs each, `a` (also the metadata log) and `b`."""

    def _properties(self, node: KafkaNode) -> str:
        dirs = f"{node.directory / 'a'},{node.directory / 'b'}"
        text = super()._properties(node)
        return text.replace(f"log.dirs={node.directory / 'data'}\n", f"log.dirs={dirs}\n")


@pytest.fixture
def two_dirs() -> Iterator[KafkaCluster]:
    with TwoDirCluster(version=KAFKA_4, size=3) as cluster:
        try:
            yield cluster
        finally:
            for node in cluster.nodes:
                node.kill()  # the data is thrown away; a broker with an offline dir may hang


async def test_three_brokers_two_dirs_each_and_an_offline_dir(two_dirs: KafkaCluster) -> None:
    topic = unique("dirs3")
    bootstrap = two_dirs.bootstrap
    placement = {p: [1 + (p + i) % 3 for i in range(3)] for p in range(4)}  # RF 3, leaders spread
    await create_placed_topics(bootstrap, {topic: placement})
    await produce_all(bootstrap, topic, {0: 120, 1: 60, 2: 30, 3: 0})
    collector = KafkaCollector(_config(bootstrap, topic, True))
    try:
        # Compare at a quiet moment: the command's output the same before and after the read.
        for _ in range(20):
            before = command_sizes(kafka_log_dirs(bootstrap, [topic]))
            sent = collector._reader.requests["DescribeLogDirs"]
            families = collector.to_metrics(await collector.fetch())
            after = command_sizes(kafka_log_dirs(bootstrap, [topic]))
            if before == after:
                break
        assert before == after
        assert collector._reader.requests["DescribeLogDirs"] - sent == 3  # one per broker
        assert partition_sizes(families) == before
        assert len(before) == 12  # 4 partitions x 3 replicas
        dirs_used = {(k[0], Path(k[1]).name) for k in before}
        assert {b for b, _ in dirs_used} == {"1", "2", "3"}
        totals = samples(families, "kafka_log_dir_size_bytes")
        assert len(totals) == 6  # 3 brokers x 2 dirs, each answered
        assert not samples(families, "kafka_log_dir_error")

        # Broker 2 loses dir b: its next high-watermark checkpoint (every 5 s) fails there.
        node = two_dirs.nodes[1]
        gone = node.directory / "b"
        gone.rename(node.directory / "b-gone")
        # Until the broker marks the dir offline it answers UNKNOWN_SERVER_ERROR for it (the
        # volume of a missing path cannot be read), then KAFKA_STORAGE_ERROR.
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while True:
            families = collector.to_metrics(await collector.fetch())
            errors = samples(families, "kafka_log_dir_error")
            for labels, value in errors.items():
                found = dict(labels)
                assert (found["broker"], found["log_dir"], value) == ("2", str(gone), 1), errors
                if not seen or seen[-1] != found["error"]:
                    seen.append(found["error"])
            if seen and seen[-1] == "KAFKA_STORAGE_ERROR":
                break
            assert time.monotonic() < deadline, f"dir b of broker 2 not offline: {seen}"
            await asyncio.sleep(1)
        assert seen in (["KAFKA_STORAGE_ERROR"], ["UNKNOWN_SERVER_ERROR", "KAFKA_STORAGE_ERROR"])
        assert len(errors) == 1
        sizes = partition_sizes(families)
        assert not [k for k in sizes if k[0] == "2" and k[1] == str(gone)]
        assert {k for k in before if not (k[0] == "2" and k[1] == str(gone))} <= set(sizes)
        totals = samples(families, "kafka_log_dir_size_bytes")
        assert len(totals) == 5  # the offline dir has no total
    finally:
        await collector.close()

"""The requests one refresh takes, on each target: real Kafka (3.0+) and Tansu answer OffsetFetch v8+
for many groups at once (KIP-709), each for all its partitions (null topic list). On a broker
without v8 (the reader made to see one) it is one OffsetFetch per group: Kafka takes a null topic
list there (KIP-88), Tansu needs named partitions. All answer batched DescribeGroups (what looked
like Tansu garbling batches was aiokafka decoding v3 answers with the v2 schema; the exporter's own
DescribeGroups request fixes it). Asserted on the requests really sent."""

from __future__ import annotations

import math
from typing import Any

from aiokafka.protocol.api import Request, Response

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.committed_offsets import OFFSET_FETCH_BATCH
from exporter.collectors.kafka.read.group_describe import DESCRIBE_BATCH
from exporter.collectors.kafka.read.reader import ClusterReader
from tests.support.kafka_cluster import Broker, KafkaCluster
from tests.support.kafka_helpers import commit_many, create_topics, produce, unique
from tests.support.unbatched_reads import one_group_per_fetch

GROUPS = 130  # more than one DescribeGroups batch


class RecordingReader(ClusterReader):
    """The collector's reader, keeping every request it sends."""

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__(config)
        self.sent: list[Request] = []

    async def _send(self, client: Any, node: int, request: Request) -> Response:
        self.sent.append(request)
        return await super()._send(client, node, request)


def _names(requests: list[Request]) -> dict[str, int]:
    out: dict[str, int] = {}
    for request in requests:
        name = type(request).__name__.removesuffix("Request")
        out[name] = out.get(name, 0) + 1
    return out


async def test_requests_per_refresh(any_broker: Broker) -> None:
    prefix = unique("req")
    topic = f"{prefix}-t"
    await create_topics(any_broker.bootstrap, {topic: 4})
    await produce(any_broker.bootstrap, topic, {0: 3, 1: 2, 2: 1, 3: 1})
    groups = [f"{prefix}-g{i:03d}" for i in range(GROUPS)]
    await commit_many(any_broker.bootstrap, {g: {(topic, i % 4): 1} for i, g in enumerate(groups)})
    config = KafkaConfig(
        name="t", type="kafka", bootstrap_servers=[any_broker.bootstrap], interval=30, timeout=20,
        groups={"include": [f"{prefix}-g.*"]}, topics={"include": [f"{prefix}.*"]},
    )  # fmt: skip
    reader = RecordingReader(config)
    real = isinstance(any_broker, KafkaCluster)
    try:
        first = await reader.read()
        assert set(first.groups) == set(groups)
        assert all(first.groups[g].offsets == {(topic, i % 4): 1} for i, g in enumerate(groups)), (
            "every group's committed offset, and only the committed partition"
        )
        probes = len(reader.sent)
        reader.sent.clear()
        second = await reader.read()
        assert {g: i.offsets for g, i in second.groups.items()} == {
            g: i.offsets for g, i in first.groups.items()
        }
        counts = _names(reader.sent)
        batched = [r for r in reader.sent if type(r).__name__ == "OffsetFetchGroupsRequest"]
        describes = [r for r in reader.sent if type(r).__name__ == "DescribeGroupsRequest"]
        described = sorted(g for r in describes for g in r._groups)
        assert described == sorted(groups), "every group described exactly once"
        assert reader._batch_describe is True
        expected = {
            "Metadata": 1,
            "ListGroups": 1,
            "Offset": 2,  # ListOffsets latest and earliest, one each for the one leader
            "DescribeGroups": math.ceil(GROUPS / DESCRIBE_BATCH),
        }
        # many groups per OffsetFetch v8+, every partition of each (null topics): Kafka 3.0+ and
        # Tansu alike (Tansu refuses null topics only before v8)
        expected["OffsetFetchGroups"] = math.ceil(GROUPS / OFFSET_FETCH_BATCH)
        assert counts == expected, counts
        assert reader._null_offset_fetch is True
        assert sorted(g for r in batched for g in r.groups) == sorted(groups)
        target = f"kafka {any_broker.version}" if real else "tansu"
        print(f"\n{target}: first read {probes} requests, then {counts}")
    finally:
        await reader.close()


async def test_requests_per_refresh_without_batched_offset_fetch(any_broker: Broker) -> None:
    prefix = unique("req1")
    topic = f"{prefix}-t"
    await create_topics(any_broker.bootstrap, {topic: 2})
    await produce(any_broker.bootstrap, topic, {0: 2, 1: 1})
    groups = [f"{prefix}-g{i:02d}" for i in range(12)]
    await commit_many(any_broker.bootstrap, {g: {(topic, i % 2): 1} for i, g in enumerate(groups)})
    config = KafkaConfig(
        name="t", type="kafka", bootstrap_servers=[any_broker.bootstrap], interval=30, timeout=20,
        groups={"include": [f"{prefix}-g.*"]}, topics={"include": [f"{prefix}.*"]},
    )  # fmt: skip
    reader = RecordingReader(config)
    one_group_per_fetch(reader)
    try:
        await reader.read()
        reader.sent.clear()
        state = await reader.read()
        assert {g: i.offsets for g, i in state.groups.items()} == {
            g: {(topic, i % 2): 1} for i, g in enumerate(groups)
        }
        counts = _names(reader.sent)
        assert counts["OffsetFetch"] == len(groups) and "OffsetFetchGroups" not in counts, counts
        fetches = [r for r in reader.sent if type(r).__name__ == "OffsetFetchRequest"]
        if isinstance(any_broker, KafkaCluster):
            assert reader._null_offset_fetch is True
            assert all(r._partitions is None for r in fetches), "no named partitions on Kafka"
        else:  # Tansu before OffsetFetch v8: the fallback, learnt by probing once
            assert reader._null_offset_fetch is False
            assert all(r._partitions for r in fetches), "Tansu needs named partitions"
    finally:
        await reader.close()

"""A read hands each group's committed offsets over in (topic, partition) order: the conversions
of a refresh iterate them sorted four times, and sorting what is in order already is one
comparison per partition (a real broker answers in an order of its own)."""

from __future__ import annotations

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.reader import ClusterReader
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit_many, create_topics, unique


async def test_each_groups_offsets_come_in_topic_partition_order(broker: KafkaCluster) -> None:
    prefix = unique("order")
    topics = {f"{prefix}-{name}": 12 for name in ("zeta", "alpha", "mu")}
    await create_topics(broker.bootstrap, topics)
    group = f"{prefix}-g"
    committed = {
        (topic, p): 100 + p for topic in reversed(list(topics)) for p in reversed(range(12))
    }
    await commit_many(broker.bootstrap, {group: committed})
    config = KafkaConfig(
        name="order",
        type="kafka",
        bootstrap_servers=[broker.bootstrap],
        interval=30,
        timeout=20,
        groups={"include": [f"{prefix}-.*"]},
        topics={"include": [f"{prefix}-.*"]},
    )
    reader = ClusterReader(config)
    try:
        state = await reader.read()
    finally:
        await reader.close()
    offsets = state.groups[group].offsets
    assert offsets == committed
    assert list(offsets) == sorted(committed), list(offsets)[:6]

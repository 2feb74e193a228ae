"""Small aiokafka helpers for tests: create topics, produce exact counts, commit offsets."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.commit import OffsetCommitRequest
from aiokafka.structs import TopicPartition


def unique(prefix: str) -> str:
    """A name no other test uses on the shared broker."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    """Create `topics` (name -> partitions) and wait until metadata shows them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
        for _ in range(50):
            if set(topics) <= set(await admin.list_topics()):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"topics {topics} not visible")
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """Delete `topics`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()


async def produce(
    bootstrap: str, topic: str, counts: dict[int, int], *, batch: bool = False
) -> None:
    """Produce `counts[p]` records to partition p: one request each by default (exact offsets on
    Tansu too), or with `batch` in batches as real producers send (real Kafka only)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50 if batch else 0)
    await producer.start()
    try:
        for partition, count in counts.items():
            if batch:
                sent = [
                    await producer.send(topic, f"m{i}".encode(), partition=partition)
                    for i in range(count)
                ]
                await asyncio.gather(*sent)
            else:
                for i in range(count):
                    await producer.send_and_wait(topic, f"m{i}".encode(), partition=partition)
    finally:
        await producer.stop()


async def commit(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit `offsets` ((topic, partition) -> offset) for `group` without joining it."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = {TopicPartition(t, p): o for (t, p), o in offsets.items()}
        consumer.assign(list(tps))
        await consumer.commit(tps)
    finally:
        await consumer.stop()


async def commit_many(
    bootstrap: str, offsets: dict[str, dict[tuple[str, int], int]], concurrency: int = 20
) -> None:
    """Commit offsets for many groups at once (group -> (topic, partition) -> offset) with one
    client, as a consumer without membership does (OffsetCommit, generation -1)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    limit = asyncio.Semaphore(concurrency)

    async def one(group: str, found: dict[tuple[str, int], int]) -> None:
        by_topic: dict[str, list[tuple[int, int, str]]] = {}
        for (topic, partition), offset in found.items():
            by_topic.setdefault(topic, []).append((partition, offset, ""))
        async with limit:
            node = await client.coordinator_lookup(0, group)  # 0: a consumer group
            request = OffsetCommitRequest(group, -1, "", -1, list(by_topic.items()))
            response = await client.send(node, request)
        errors = [p["error_code"] for t in response.to_object()["topics"] for p in t["partitions"]]
        assert not any(errors), f"commit of {group} failed: {response}"

    try:
        await asyncio.gather(*(one(group, found) for group, found in offsets.items()))
    finally:
        await client.close()

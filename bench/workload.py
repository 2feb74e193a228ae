"""The benchmark workload: G groups, each committed on all P partitions of one of T topics.

Built fast and concurrently on a fresh broker (Kafka or Tansu): topics in one CreateTopics request
(then waiting for every partition's leader), a few records per partition in batches, and one
OffsetCommit per group (generation -1, no member: what `assign()` + `commit()` sends), 64 in
flight over 4 connections, straight to the coordinator on a single-broker cluster. Lag series =
G x P.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.commit import OffsetCommitRequest
from aiokafka.structs import TopicPartition

RECORDS_PER_PARTITION = 5
COMMIT_CONCURRENCY = 64
COMMIT_CONNECTIONS = 4
LARGE_OFFSET = 1_000_000
"""Even groups commit offsets above this (like a long-lived real topic: rendered as `1.0e+06`
style floats); odd groups commit small offsets below the high watermark (real lag)."""


@dataclass(frozen=True)
class Workload:
    """`groups` x `topics` x `partitions` (per topic)."""

    groups: int
    topics: int
    partitions: int

    @staticmethod
    def parse(text: str) -> Workload:
        """`GxTxP`, e.g. `1000x10x50`."""
        match = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text.strip())
        if not match:
            raise ValueError(f"size {text!r}: expected GROUPSxTOPICSxPARTITIONS, e.g. 200x5x30")
        groups, topics, partitions = (int(n) for n in match.groups())
        if min(groups, topics, partitions) < 1:
            raise ValueError(f"size {text!r}: every number must be >= 1")
        return Workload(groups, topics, partitions)

    @property
    def label(self) -> str:
        """`GxTxP`."""
        return f"{self.groups}x{self.topics}x{self.partitions}"

    @property
    def lag_series(self) -> int:
        """Partitions with a commit, summed over groups."""
        return self.groups * self.partitions

    def topic_names(self) -> list[str]:
        """Topic names, in order."""
        return [f"bench-t{i:04d}" for i in range(self.topics)]

    def group_names(self) -> list[str]:
        """Group names, in order."""
        return [f"bench-g{i:05d}" for i in range(self.groups)]

    def topic_of(self, group_index: int) -> str:
        """The one topic group number `group_index` commits on."""
        return self.topic_names()[group_index % self.topics]

    def committed(self, group_index: int, partition: int) -> int:
        """The offset group `group_index` commits on `partition`."""
        if group_index % 2 == 0:
            return LARGE_OFFSET + group_index * self.partitions + partition
        return (group_index + partition) % 2


async def build(bootstrap: str, workload: Workload) -> dict[str, float]:
    """Create, produce and commit `workload` on the broker; seconds spent per step."""
    spent: dict[str, float] = {}
    started = time.perf_counter()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=120_000)
    await admin.start()
    try:
        names = workload.topic_names()
        await admin.create_topics([NewTopic(t, workload.partitions, 1) for t in names])
    finally:
        await admin.close()
    await _wait_leaders(bootstrap, workload)
    spent["create_topics"] = time.perf_counter() - started

    started = time.perf_counter()
    # a new partition's leader may refuse the first batch (NotLeaderForPartition) and is retried
    logging.getLogger("aiokafka.producer.sender").setLevel(logging.ERROR)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, acks=1)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, b"x" * 16, partition=p)
            for topic in workload.topic_names()
            for p in range(workload.partitions)
            for _ in range(RECORDS_PER_PARTITION)
        ]
        await producer.flush()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    spent["produce"] = time.perf_counter() - started

    started = time.perf_counter()
    await _commit_all(bootstrap, workload)
    spent["commit"] = time.perf_counter() - started
    return spent


async def _wait_leaders(bootstrap: str, workload: Workload, timeout: float = 60.0) -> None:
    """Until metadata names a leader for every partition of the workload (real Kafka elects
    them a moment after CreateTopics answers)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await client.bootstrap()
    try:
        deadline = time.monotonic() + timeout
        while True:
            cluster = await client.fetch_all_metadata()
            led = [
                cluster.leader_for_partition(TopicPartition(topic, p)) not in (None, -1)
                for topic in workload.topic_names()
                for p in range(workload.partitions)
            ]
            if all(led):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{led.count(False)} partitions without a leader")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def _commit_all(bootstrap: str, workload: Workload) -> None:
    """One OffsetCommit per group (the API takes one group), COMMIT_CONCURRENCY in flight over
    COMMIT_CONNECTIONS clients: a broker handles one request per connection at a time. On a
    single-broker cluster every group's coordinator is that broker, so no FindCoordinator."""
    clients = [
        AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=120_000)
        for _ in range(COMMIT_CONNECTIONS)
    ]
    limit = asyncio.Semaphore(COMMIT_CONCURRENCY)

    async def commit(index: int, group: str) -> None:
        client = clients[index % len(clients)]
        async with limit:
            node = only if only is not None else await client.coordinator_lookup(0, group)
            parts = [(p, workload.committed(index, p), "") for p in range(workload.partitions)]
            request = OffsetCommitRequest(
                group,
                OffsetCommitRequest.DEFAULT_GENERATION_ID,
                "",
                OffsetCommitRequest.DEFAULT_RETENTION_TIME,
                [(workload.topic_of(index), parts)],
            )
            response = await client.send(node, request)
            errors = {e for _, ps in response.topics for _, e in ps if e}
            if errors:
                raise RuntimeError(f"commit of {group} failed with error codes {errors}")

    try:
        for client in clients:
            await client.bootstrap()
        brokers = clients[0].cluster.brokers()
        only = next(iter(brokers)).nodeId if len(brokers) == 1 else None
        await asyncio.gather(*(commit(i, g) for i, g in enumerate(workload.group_names())))
    finally:
        for client in clients:
            await client.close()

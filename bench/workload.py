"""The benchmark workload: G groups, each committed on all P partitions of one of T topics.

Built fast and concurrently on a fresh broker: topics in one CreateTopics request, a few records per
partition in batches, and one OffsetCommit per group (generation -1, no member: what
`assign()` + `commit()` sends) under high concurrency. Lag series = G x P.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.commit import OffsetCommitRequest

RECORDS_PER_PARTITION = 5
COMMIT_CONCURRENCY = 64
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
        for _ in range(300):
            if set(names) <= set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("created topics did not appear in metadata")
    finally:
        await admin.close()
    spent["create_topics"] = time.perf_counter() - started

    started = time.perf_counter()
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


async def _commit_all(bootstrap: str, workload: Workload) -> None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=120_000)
    await client.bootstrap()
    limit = asyncio.Semaphore(COMMIT_CONCURRENCY)

    async def commit(index: int, group: str) -> None:
        async with limit:
            node = await client.coordinator_lookup(0, group)
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
        await asyncio.gather(*(commit(i, g) for i, g in enumerate(workload.group_names())))
    finally:
        await client.close()

"""Helpers for the lag-in-seconds tests: records with chosen timestamps, topics with configs,
deleting records, and comparing a refresh's lag seconds with the truth."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.records_to_delete import RecordsToDelete
from aiokafka.structs import RecordMetadata, TopicPartition

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig

Stamps = dict[int, float]
"""offset -> the record's timestamp as the broker stored it (epoch seconds)."""


def bound(truth: float) -> float:
    """The accuracy the issue asks for: within max(2 s, 2 %) of the truth."""
    return max(2.0, 0.02 * abs(truth))


async def create_topic(bootstrap: str, topic: str, partitions: int, **configs: str) -> None:
    """Create `topic` with topic `configs` and wait until metadata shows it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs)])
        for _ in range(50):
            if topic in await admin.list_topics():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"topic {topic} not visible")
    finally:
        await admin.close()


async def produce_at(
    bootstrap: str,
    topic: str,
    partition: int,
    stamps_ms: Iterable[int | None],
    keys: Iterable[bytes | None] | None = None,
) -> Stamps:
    """One record per timestamp (None: the producer's now), in batches; the stored timestamps
    (LogAppendTime topics answer with the broker's) by offset."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        stamps = [int(time.time() * 1000) if ms is None else ms for ms in stamps_ms]
        names = list(keys) if keys is not None else [None] * len(stamps)
        sent = [
            await producer.send(topic, b"v", key=key, partition=partition, timestamp_ms=ms)
            for ms, key in zip(stamps, names, strict=True)
        ]
        metas = await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return {m.offset: _stored(m, ms) for m, ms in zip(metas, stamps, strict=True)}


def _stored(meta: RecordMetadata, sent_ms: int) -> float:
    """The timestamp the broker stored: the CreateTime sent, or its LogAppendTime (aiokafka 0.14
    reports the first record's CreateTime for every record of a batch, so it is not asked)."""
    return (meta.timestamp if meta.timestamp_type == 1 else sent_ms) / 1000.0


async def produce_each(
    bootstrap: str, stamps_ms: dict[tuple[str, int], int | None]
) -> dict[tuple[str, int], float]:
    """One record per (topic, partition) with its CreateTime, through one producer; the stored
    timestamps."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        sent = {
            tp: await producer.send(tp[0], b"v", partition=tp[1], timestamp_ms=ms)
            for tp, ms in stamps_ms.items()
        }
        metas = await asyncio.gather(*sent.values())
    finally:
        await producer.stop()
    return {tp: _stored(m, stamps_ms[tp]) for tp, m in zip(sent, metas, strict=True)}


def seconds_ago(seconds: float, count: int, step_s: float = 1.0) -> list[int]:
    """`count` CreateTimes in milliseconds starting `seconds` ago, `step_s` apart."""
    start = time.time() - seconds
    return [int((start + i * step_s) * 1000) for i in range(count)]


async def delete_before(bootstrap: str, topic: str, partition: int, offset: int) -> None:
    """Delete the records of topic-partition before `offset` (DeleteRecords)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, partition): RecordsToDelete(offset)})
    finally:
        await admin.close()


def collector_for(
    bootstrap: str, group: str, topics: str, method: str = "auto", **extra: object
) -> KafkaCollector:
    """An in-process `kafka` collector on `bootstrap` for `group` and the `topics` regex."""
    config = KafkaConfig(
        name="lag",
        type="kafka",
        bootstrap_servers=[bootstrap],
        interval=5.0,
        timeout=8.0,
        groups={"include": [group]},
        topics={"include": [topics]},
        time_lag={"method": method, "window": "10s", **extra},
    )
    return KafkaCollector(config)


class Accuracy:
    """Errors of reported lag seconds against the truth, per scenario, printed as a table."""

    def __init__(self) -> None:
        self.errors: dict[str, list[float]] = {}

    def check(self, scenario: str, reported: float | None, truth: float) -> None:
        """Record one error and assert it is within `bound(truth)`."""
        assert reported is not None, f"{scenario}: no lag_seconds value"
        error = reported - truth
        self.errors.setdefault(scenario, []).append(error)
        assert abs(error) <= bound(truth), (scenario, reported, truth)

    def report(self) -> str:
        """One line per scenario: n, mean error, worst |error|."""
        return "\n".join(
            f"ACCURACY {name}: n={len(e)} mean={statistics.mean(e):+.3f}s "
            f"worst={max(abs(x) for x in e):.3f}s"
            for name, e in self.errors.items()
        )

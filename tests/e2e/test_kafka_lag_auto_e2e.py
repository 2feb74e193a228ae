"""`time_lag.method: auto` on real Kafka 4.x, through the collector in process: the cases the
watched history cannot answer, and their documented answers. The truth is the timestamp the
broker stored for the record at the committed offset (or the record auto is documented to use)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from exporter.collectors.kafka.collector import KafkaRefresh
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, unique
from tests.support.lag_records import (
    Accuracy,
    collector_for,
    create_topic,
    delete_before,
    produce_at,
    seconds_ago,
)


def _seconds(refresh: KafkaRefresh, group: str, topic: str) -> float | None:
    return refresh.evaluation.lag_seconds.get((group, topic, 0))


async def test_backfill_idle_and_caught_up_are_exact_from_the_first_refresh(
    broker: KafkaCluster,
) -> None:
    """Records older than anything the collector watched are read once each, then cached."""
    bootstrap, acc = broker.bootstrap, Accuracy()
    backfill, idle, current, group = unique("bf"), unique("idle"), unique("cur"), unique("g")
    for topic in (backfill, idle, current):
        await create_topic(bootstrap, topic, 1)
    # A backfill with CreateTimes 900 s ago, then 200 s ago, then records produced now.
    stamps = await produce_at(bootstrap, backfill, 0, seconds_ago(900, 50) + seconds_ago(200, 50))
    stamps |= await produce_at(bootstrap, backfill, 0, [None] * 10)
    idle_stamps = await produce_at(bootstrap, idle, 0, seconds_ago(400, 20, 2.0))
    await produce_at(bootstrap, current, 0, [None] * 5)
    await commit(bootstrap, group, {(backfill, 0): 30, (idle, 0): 5, (current, 0): 5})
    collector = collector_for(bootstrap, group, f"{backfill}|{idle}|{current}")
    try:
        for n in range(3):
            refresh = await collector.fetch()
            now = refresh.evaluation.observed_at
            acc.check("backfill before start", _seconds(refresh, group, backfill), now - stamps[30])
            acc.check("idle topic", _seconds(refresh, group, idle), now - idle_stamps[5])
            acc.check("caught up", _seconds(refresh, group, current), 0.0)
            assert refresh.evaluation.pending == 0
            # Each offset is read once: the first refresh reads two records, later ones none.
            assert refresh.record_requests == (1 if n == 0 else 0), refresh.record_requests
            await asyncio.sleep(0.5)
        # The group moves into the backfill's second half, still before the watched history.
        await commit(bootstrap, group, {(backfill, 0): 70})
        refresh = await collector.fetch()
        now = refresh.evaluation.observed_at
        acc.check("backfill before start", _seconds(refresh, group, backfill), now - stamps[70])
        # A backfill produced while watched lies inside the history: auto reports when it was
        # appended (like estimate), not its CreateTime, and reads nothing.
        appended = time.time()
        late = await produce_at(bootstrap, backfill, 0, seconds_ago(1000, 20))
        await commit(bootstrap, group, {(backfill, 0): min(late) + 5})
        await asyncio.sleep(0.5)
        refresh = await collector.fetch()
        now = refresh.evaluation.observed_at
        acc.check("backfill while watched", _seconds(refresh, group, backfill), now - appended)
        assert refresh.record_requests == 0
    finally:
        await collector.close()
    print(acc.report())


async def test_bursts_then_silence_interpolate_inside_the_history(broker: KafkaCluster) -> None:
    bootstrap, acc = broker.bootstrap, Accuracy()
    topic, group = unique("burst"), unique("g")
    await create_topic(bootstrap, topic, 1)
    await commit(bootstrap, group, {(topic, 0): 0})
    collector = collector_for(bootstrap, group, topic)
    stamps: dict[int, float] = {}
    try:
        await collector.fetch()
        for burst in range(3):
            stamps |= await produce_at(bootstrap, topic, 0, [None] * 40)
            for step in range(3):  # silence, refreshed, while the group catches up in steps
                await asyncio.sleep(0.4)
                committed = burst * 40 + 10 * (step + 1)
                await commit(bootstrap, group, {(topic, 0): committed})
                refresh = await collector.fetch()
                now = refresh.evaluation.observed_at
                acc.check("bursty", _seconds(refresh, group, topic), now - stamps[committed])
                assert refresh.evaluation.pending == 0
        await commit(bootstrap, group, {(topic, 0): 120})
        refresh = await collector.fetch()
        acc.check("bursty", _seconds(refresh, group, topic), 0.0)
    finally:
        await collector.close()
    print(acc.report())


async def test_retention_deleted_the_committed_offset(broker: KafkaCluster) -> None:
    """Below the log start offset: the age of the oldest record still there, flagged capped."""
    bootstrap, acc = broker.bootstrap, Accuracy()
    topic, group = unique("ret"), unique("g")
    await create_topic(bootstrap, topic, 1)
    stamps = await produce_at(bootstrap, topic, 0, seconds_ago(600, 40, 5.0))
    await commit(bootstrap, group, {(topic, 0): 3})
    await delete_before(bootstrap, topic, 0, 20)
    collector = collector_for(bootstrap, group, topic)
    try:
        refresh = await collector.fetch()
        now = refresh.evaluation.observed_at
        acc.check("retention deleted", _seconds(refresh, group, topic), now - stamps[20])
        assert refresh.evaluation.capped == {(group, topic, 0)}
        await delete_before(bootstrap, topic, 0, 30)  # retention goes on: read again
        refresh = await collector.fetch()
        now = refresh.evaluation.observed_at
        acc.check("retention deleted", _seconds(refresh, group, topic), now - stamps[30])
        await commit(bootstrap, group, {(topic, 0): 35})
        refresh = await collector.fetch()
        now = refresh.evaluation.observed_at
        acc.check("retention deleted", _seconds(refresh, group, topic), now - stamps[35])
        assert refresh.evaluation.capped == frozenset()
    finally:
        await collector.close()
    print(acc.report())


async def test_log_append_time_topic_uses_the_brokers_time(broker: KafkaCluster) -> None:
    bootstrap, acc = broker.bootstrap, Accuracy()
    topic, group = unique("lat"), unique("g")
    await create_topic(bootstrap, topic, 1, **{"message.timestamp.type": "LogAppendTime"})
    stamps = await produce_at(bootstrap, topic, 0, seconds_ago(3600, 10))  # CreateTime ignored
    assert all(abs(time.time() - s) < 30 for s in stamps.values()), stamps
    await commit(bootstrap, group, {(topic, 0): 2})
    await asyncio.sleep(1.0)
    collector = collector_for(bootstrap, group, topic)
    try:
        refresh = await collector.fetch()
        now = refresh.evaluation.observed_at
        acc.check("LogAppendTime", _seconds(refresh, group, topic), now - stamps[2])
    finally:
        await collector.close()
    print(acc.report())


async def test_transaction_markers_and_aborted_records(broker: KafkaCluster) -> None:
    """A marker is no record to wait for (the next data record counts; none: 0 s); an aborted
    record counts like any other (it was appended then)."""
    bootstrap, acc = broker.bootstrap, Accuracy()
    topic, prefix = unique("txn"), unique("tg")
    await create_topic(bootstrap, topic, 1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=unique("tx"))
    await producer.start()
    stamps: dict[int, float] = {}
    try:
        async with producer.transaction():
            for ms in seconds_ago(500, 3):
                meta = await producer.send_and_wait(topic, b"c", partition=0, timestamp_ms=ms)
                stamps[meta.offset] = meta.timestamp / 1000
        marker = max(stamps) + 1
        await commit(bootstrap, f"{prefix}-m", {(topic, 0): marker})
        collector = collector_for(bootstrap, f"{prefix}-.*", topic)
        try:
            refresh = await collector.fetch()
            acc.check("marker, nothing after", _seconds(refresh, f"{prefix}-m", topic), 0.0)
        finally:
            await collector.close()
        await producer.begin_transaction()
        aborted = []
        for ms in seconds_ago(300, 2):
            meta = await producer.send_and_wait(topic, b"a", partition=0, timestamp_ms=ms)
            stamps[meta.offset] = meta.timestamp / 1000
            aborted.append(meta.offset)
        await producer.abort_transaction()
        after = await produce_at(bootstrap, topic, 0, seconds_ago(100, 1))
        stamps |= after
        await commit(bootstrap, f"{prefix}-a", {(topic, 0): aborted[0]})
        await commit(bootstrap, f"{prefix}-b", {(topic, 0): min(after) - 1})  # the abort marker
        collector = collector_for(bootstrap, f"{prefix}-.*", topic)  # all before its history
        try:
            refresh = await collector.fetch()
            now = refresh.evaluation.observed_at
            first_aborted = now - stamps[aborted[0]]
            acc.check("aborted record", _seconds(refresh, f"{prefix}-a", topic), first_aborted)
            truth = now - stamps[min(after)]
            acc.check("abort marker", _seconds(refresh, f"{prefix}-b", topic), truth)
            acc.check("marker, then data", _seconds(refresh, f"{prefix}-m", topic), first_aborted)
        finally:
            await collector.close()
    finally:
        await producer.stop()
    print(acc.report())


async def _first_offset(bootstrap: str, topic: str) -> int:
    """Offset of the first record the partition still holds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        found = await consumer.getmany(tp, timeout_ms=2000, max_records=1)
        return found[tp][0].offset
    finally:
        await consumer.stop()


async def test_compacted_topic_uses_the_next_record(broker: KafkaCluster) -> None:
    """The record at the committed offset was compacted away: the next one still there."""
    bootstrap, acc = broker.bootstrap, Accuracy()
    topic, group = unique("compact"), unique("g")
    configs = {
        "cleanup.policy": "compact",
        "segment.ms": "100",
        "min.cleanable.dirty.ratio": "0.001",
        "min.compaction.lag.ms": "0",
        "delete.retention.ms": "0",
    }
    await create_topic(bootstrap, topic, 1, **configs)
    keys = [f"k{i}".encode() for i in range(10)]
    stamps = await produce_at(bootstrap, topic, 0, seconds_ago(700, 10, 10.0), keys)
    stamps |= await produce_at(bootstrap, topic, 0, seconds_ago(300, 5), keys[:5])  # 0-4 stale
    await asyncio.sleep(0.3)
    await produce_at(bootstrap, topic, 0, [None], [b"roll"])  # rolls the segment: cleanable
    await commit(bootstrap, group, {(topic, 0): 2})
    deadline = time.monotonic() + 45
    while await _first_offset(bootstrap, topic) != 5:  # the log cleaner runs every 15 s
        assert time.monotonic() < deadline, "offsets 0-4 were not compacted away"
        await asyncio.sleep(1)
    collector = collector_for(bootstrap, group, topic)
    try:
        refresh = await collector.fetch()
        now = refresh.evaluation.observed_at
        acc.check("compacted", _seconds(refresh, group, topic), now - stamps[5])
    finally:
        await collector.close()
    print(acc.report())

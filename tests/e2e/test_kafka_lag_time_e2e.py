"""Lag in seconds end to end on real Kafka 4.x: a paced producer, a slower consumer, each method.

The truth is computed from the timestamps of the records the test produced: at a refresh that
saw committed offset `c`, the lag is the refresh time minus the timestamp of record `c`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig
from tests.support.exporter_process import ExporterProcess, Samples, value
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, delete_topics, produce, unique

PRODUCE_PER_S = 20
CONSUME_PER_S = 8
ESTIMATE_TOLERANCE_S = 1.0
"""Interpolation between refreshes 0.5 s apart plus the refresh's own duration."""
TIMESTAMP_TOLERANCE_S = 0.3
"""Exact record time; the error is only when the refresh happened vs. when it was reported."""


def _config(bootstrap: str, topic: str, group: str) -> str:
    entry = """
  - name: {name}
    type: kafka
    bootstrap_servers: "{bootstrap}"
    groups: {{include: ["{group}"]}}
    topics: {{include: ["{topic}"]}}
    time_lag: {{method: {method}, window: 10s}}
"""
    return "defaults: {interval: 500ms, timeout: 450ms}\ncollectors:" + "".join(
        entry.format(name=m, bootstrap=bootstrap, group=group, topic=topic, method=m)
        for m in ("estimate", "timestamp", "auto")
    )


async def _produce(bootstrap: str, topic: str, times: dict[int, float], stop: asyncio.Event):
    """One record per request (exact offsets on Tansu), PRODUCE_PER_S a second."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        while not stop.is_set():
            meta = await producer.send_and_wait(topic, b"x", partition=0)
            times[meta.offset] = meta.timestamp / 1000.0
            await asyncio.sleep(1 / PRODUCE_PER_S)
    finally:
        await producer.stop()


async def _consume_slowly(bootstrap: str, topic: str, group: str, stop: asyncio.Event) -> None:
    """Process CONSUME_PER_S records a second, committing after each."""
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        while not stop.is_set():
            record = await consumer.getone()
            await asyncio.sleep(1 / CONSUME_PER_S)
            await consumer.commit({tp: record.offset + 1})
    finally:
        await consumer.stop()


def _errors(
    samples: list[Samples], collector: str, group: str, times: dict[int, float]
) -> list[float]:
    """Reported lag seconds minus the truth, one per distinct refresh of `collector`."""
    seen: set[float] = set()
    errors = []
    for m in samples:
        refreshed_at = value(
            m, "kafka_health_exporter_collector_last_success_timestamp_seconds", collector=collector
        )
        committed = value(
            m, "kafka_consumergroup_current_offset", cluster=collector, consumergroup=group
        )
        seconds = value(m, "kafka_consumergroup_lag_seconds", cluster=collector)
        lag = value(m, "kafka_consumergroup_lag", cluster=collector)
        if None in (refreshed_at, committed, seconds, lag) or refreshed_at in seen:
            continue
        assert refreshed_at is not None and committed is not None and seconds is not None
        seen.add(refreshed_at)
        truth = 0.0 if lag == 0 else refreshed_at - times[int(committed)]
        errors.append(seconds - truth)
        assert value(m, "kafka_consumergroup_lag_seconds_max", cluster=collector) == seconds
    return errors


async def test_lag_seconds_matches_record_timestamps(broker: KafkaCluster, tmp_path: Path) -> None:
    topic, group = unique("lagsec"), unique("slow")
    await create_topics(broker.bootstrap, {topic: 1})
    times: dict[int, float] = {}
    stop = asyncio.Event()
    with ExporterProcess(_config(broker.bootstrap, topic, group), tmp_path) as exporter:
        exporter.wait_ready()
        tasks = [
            asyncio.create_task(_produce(broker.bootstrap, topic, times, stop)),
            asyncio.create_task(_consume_slowly(broker.bootstrap, topic, group, stop)),
        ]
        samples: list[Samples] = []
        try:
            started = time.monotonic()
            while time.monotonic() - started < 9:
                await asyncio.sleep(0.25)
                samples.append(await asyncio.to_thread(exporter.metrics))
                assert not any(t.done() for t in tasks), [t.exception() for t in tasks]
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        # The consumer falls behind: by the end the lag is several seconds.
        last_lag = [
            value(m, "kafka_consumergroup_lag_seconds", cluster="timestamp") for m in samples
        ]
        assert max(v for v in last_lag if v is not None) > 2.0
        report = {}
        for collector, tolerance in (
            ("estimate", ESTIMATE_TOLERANCE_S),
            ("timestamp", TIMESTAMP_TOLERANCE_S),
            ("auto", ESTIMATE_TOLERANCE_S),  # watched from the start: interpolates
        ):
            errors = _errors(samples, collector, group, times)
            assert len(errors) >= 8, (collector, errors)
            worst = max(abs(e) for e in errors)
            report[collector] = (
                len(errors),
                round(statistics.mean(errors), 3),
                round(statistics.mean(abs(e) for e in errors), 3),
                round(worst, 3),
            )
            assert worst <= tolerance, (collector, errors)
        print(f"lag_seconds error vs truth (n, mean, mean |err|, max |err|): {report}")


async def test_history_survives_failures_and_drops_deleted_topics(own_broker: KafkaCluster) -> None:
    """Through the collector itself: tables fill over refreshes, a deleted topic's tables go, a
    failed refresh (broker stopped) leaves them as they were."""
    kept, deleted, group = unique("kept"), unique("deleted"), unique("hist")
    bootstrap = own_broker.bootstrap
    await create_topics(bootstrap, {kept: 1, deleted: 1})
    config = KafkaConfig(
        name="hist",
        type="kafka",
        bootstrap_servers=[bootstrap],
        interval=2.0,
        timeout=1.5,
        groups={"include": [group]},
        topics={"include": [f"{kept}|{deleted}"]},
    )
    collector = KafkaCollector(config)
    try:
        for count in (2, 4):
            await produce(bootstrap, kept, {0: 2})
            await produce(bootstrap, deleted, {0: 2})
            await commit(bootstrap, group, {(kept, 0): 1, (deleted, 0): 1})
            refresh = await collector.fetch()
            assert refresh.state.topics[kept][0].newest == count
        history = collector.history
        assert len(history.watermarks[(kept, 0)]) == 2
        assert len(history.commits.observations((group, kept, 0))) == 2
        # Committed offset 1 of 4: record 1 was appended between the two refreshes.
        assert refresh.evaluation.lag_seconds[(group, kept, 0)] > 0

        await delete_topics(bootstrap, [deleted])
        refresh = await collector.fetch()
        assert deleted not in refresh.state.topics
        assert set(history.watermarks) == {(kept, 0)}
        assert set(history.commits) == {(group, kept, 0)}
        before = (
            history.watermarks[(kept, 0)].points(),
            history.commits.observations((group, kept, 0)),
        )

        own_broker.stop()
        with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
            await asyncio.wait_for(collector.fetch(), config.timeout)
        after = (
            history.watermarks[(kept, 0)].points(),
            history.commits.observations((group, kept, 0)),
        )
        assert after == before
    finally:
        await collector.close()


async def test_method_timestamp_reads_the_record_at_the_committed_offset(
    broker: KafkaCluster,
) -> None:
    """Records stamped in the past: the timestamp method reports their age exactly, where the
    estimate (which only saw them arrive now) could not."""
    topic, group = unique("stamped"), unique("ts")
    await create_topics(broker.bootstrap, {topic: 1})
    stamps_ms = [int((time.time() - 3600 + 60 * i) * 1000) for i in range(5)]  # an hour ago, 1/min
    stamps = [ms / 1000 for ms in stamps_ms]
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    await producer.start()
    try:
        for stamp in stamps_ms:
            await producer.send_and_wait(topic, b"x", partition=0, timestamp_ms=stamp)
    finally:
        await producer.stop()
    await commit(broker.bootstrap, group, {(topic, 0): 2})
    config = KafkaConfig(
        name="ts",
        type="kafka",
        bootstrap_servers=[broker.bootstrap],
        interval=5.0,
        timeout=4.0,
        groups={"include": [group]},
        topics={"include": [topic]},
        time_lag={"method": "timestamp"},
    )
    collector = KafkaCollector(config)
    try:
        refresh = await collector.fetch()
        seconds = refresh.evaluation.lag_seconds[(group, topic, 0)]
        assert abs(seconds - (refresh.evaluation.observed_at - stamps[2])) < 0.002
        assert collector.history.record_times == {(topic, 0, 2): stamps[2]}
    finally:
        await collector.close()

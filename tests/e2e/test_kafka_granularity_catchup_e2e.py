"""Issue 27 on real Kafka 4.4: `granularity: topic`, records deleted before being read
(`kafka_consumergroup_log_start_gap`) and time to catch up (`kafka_consumergroup_catchup_seconds`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.structs import TopicPartition
from prometheus_client.core import Metric

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _series(families: Sequence[Metric]) -> Series:
    return {(s.name, frozenset(s.labels.items())): s.value for f in families for s in f.samples}


def _of(series: Series, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    want = set(labels.items())
    return {k: v for (n, k), v in series.items() if n == name and want <= k}


def _config(bootstrap: str, group: str, topic: str, **extra: object) -> KafkaConfig:
    return KafkaConfig.model_validate(
        {
            "name": "c",
            "type": "kafka",
            "bootstrap_servers": [bootstrap],
            "interval": 1.0,
            "timeout": 5.0,
            "groups": {"include": [group]},
            "topics": {"include": [topic]},
            "status": {"partition_metrics": True},
            **extra,
        }
    )


async def _delete_records(bootstrap: str, topic: str, before: dict[int, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_records(
            {TopicPartition(topic, p): RecordsToDelete(o) for p, o in before.items()}
        )
    finally:
        await admin.close()


async def test_granularity_topic_and_log_start_gap(broker: KafkaCluster) -> None:
    """Partition mode: a gap per partition equal to the deleted records; topic mode: no group
    series with a partition label, and the same sums."""
    topic, group = unique("gran"), unique("grangroup")
    bootstrap = broker.bootstrap
    await create_topics(bootstrap, {topic: 3})
    await produce(bootstrap, topic, {0: 30, 1: 20, 2: 10}, batch=True)
    await commit(bootstrap, group, {(topic, 0): 0, (topic, 1): 5, (topic, 2): 10})
    await _delete_records(bootstrap, topic, {0: 12, 1: 3})
    by_mode: dict[str, Series] = {}
    for mode in ("partition", "topic"):
        collector = KafkaCollector(_config(bootstrap, group, topic, granularity=mode))
        try:
            for _ in range(2):
                refresh = await collector.fetch()
                await asyncio.sleep(0.3)
            by_mode[mode] = _series(collector.to_metrics(refresh))
        finally:
            await collector.close()
    part, top = by_mode["partition"], by_mode["topic"]
    gaps = _of(part, "kafka_consumergroup_log_start_gap", consumergroup=group)
    assert {dict(k)["partition"]: v for k, v in gaps.items()} == {"0": 12, "1": 0, "2": 0}
    for series in (part, top):
        assert _of(series, "kafka_consumergroup_log_start_gap_sum", consumergroup=group) == {
            frozenset({("cluster", "c"), ("consumergroup", group), ("topic", topic)}): 12
        }
    # partition mode has the per-partition series the topic mode drops
    for name in (
        "kafka_consumergroup_current_offset",
        "kafka_consumergroup_lag",
        "kafka_consumergroup_partition_status",
    ):
        assert _of(part, name, consumergroup=group), name
    with_partition = [
        n for (n, k) in top if dict(k).get("consumergroup") == group and "partition" in dict(k)
    ]
    assert with_partition == []
    for name in ("kafka_consumergroup_lag_sum", "kafka_consumergroup_current_offset_sum"):
        assert _of(top, name, consumergroup=group) == _of(part, name, consumergroup=group)
        assert _of(top, name, consumergroup=group)
    assert sum(_of(top, "kafka_consumergroup_lag_sum", consumergroup=group).values()) == 30 + 15
    assert _of(top, "kafka_consumergroup_status", consumergroup=group) == _of(
        part, "kafka_consumergroup_status", consumergroup=group
    )
    # lag in seconds grows with time: the same series, a value in both
    assert set(_of(top, "kafka_consumergroup_lag_seconds_max", consumergroup=group)) == set(
        _of(part, "kafka_consumergroup_lag_seconds_max", consumergroup=group)
    )
    assert _of(top, "kafka_consumergroup_lag_seconds_max", consumergroup=group)


async def _drain(
    bootstrap: str, topic: str, group: str, per_second: float, stop: asyncio.Event
) -> None:
    """Consume `per_second` records a second, committing each."""
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
        started, done = time.monotonic(), 0
        while not stop.is_set():
            record = await asyncio.wait_for(consumer.getone(), 5)
            await consumer.commit({tp: record.offset + 1})
            done += 1
            await asyncio.sleep(max(started + done / per_second - time.monotonic(), 0))
    except TimeoutError:
        pass  # drained: nothing more to read
    finally:
        await consumer.stop()


async def test_catchup_seconds_stopped_and_draining(broker: KafkaCluster) -> None:
    """A stopped group with lag never catches up (+Inf); a group draining at 10 records/s
    with nothing produced is predicted within 20 % of the drain time measured."""
    topic, stopped, draining = unique("catchup"), unique("stopped"), unique("draining")
    bootstrap = broker.bootstrap
    await create_topics(bootstrap, {topic: 1})
    records, rate = 150, 10.0
    await produce(bootstrap, topic, {0: records}, batch=True)
    await commit(bootstrap, stopped, {(topic, 0): 20})
    await commit(bootstrap, draining, {(topic, 0): 0})
    collector = KafkaCollector(
        _config(bootstrap, f"{stopped}|{draining}", topic, time_lag={"window": "5s"})
    )
    stop = asyncio.Event()
    task = asyncio.create_task(_drain(bootstrap, topic, draining, rate, stop))
    predictions: list[tuple[float, float]] = []  # (monotonic time, predicted seconds)
    zero_at: float | None = None
    last_lagging = 0.0  # the last poll that still saw lag: the drain ended after it
    stopped_values: list[float] = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < 40:
            before = time.monotonic()
            refresh = await collector.fetch()
            now = (before + time.monotonic()) / 2  # when the read saw the offsets
            series = _series(collector.to_metrics(refresh))
            catchup = {
                dict(k)["consumergroup"]: v
                for k, v in _of(series, "kafka_consumergroup_catchup_seconds", topic=topic).items()
            }
            if stopped in catchup:
                stopped_values.append(catchup[stopped])
            lag = (
                refresh.state.topics[topic][0].newest
                - refresh.state.groups[draining].offsets[(topic, 0)]
            )
            if lag == 0:
                zero_at = now
                assert catchup[draining] == 0.0
                break
            last_lagging = now
            if draining in catchup:
                predictions.append((now, catchup[draining]))
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await task
        await collector.close()
    assert zero_at is not None, predictions
    assert stopped_values and all(math.isinf(v) and v > 0 for v in stopped_values)
    # once the window is full (5 s after the start), every prediction at least 2 s (four
    # refreshes) before the end is within 20 % of the drain time measured from it
    checked = _checked_predictions(predictions, started, last_lagging, zero_at)
    assert len(checked) >= 10, checked
    print(f"catchup predicted vs measured drain (s): {checked}")


def _checked_predictions(
    predictions: list[tuple[float, float]], started: float, last_lagging: float, zero_at: float
) -> list[tuple[float, float, float]]:
    """Every prediction once the window is full (6 s in) and 2 s or more before the end, checked
    within 20 % of the drain measured from it. The drain ended between the last poll that saw
    lag and the first that saw none (half a second or more apart, longer on a busy machine), so
    the measured time is that span, not one end of it: 20 % around a point 2 s away would
    otherwise be eaten by the polling alone."""
    checked = []
    for at, predicted in predictions:
        low, high = last_lagging - at, zero_at - at
        if at - started < 6 or high < 2:
            continue
        checked.append((round(predicted, 2), round(low, 2), round(high, 2)))
        assert 0.8 * low <= predicted <= 1.2 * high, (predicted, low, high, checked)
    return checked


async def _produce_paced(
    bootstrap: str, topic: str, per_second: float, stop: asyncio.Event
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        started, done = time.monotonic(), 0
        while not stop.is_set():
            await producer.send_and_wait(topic, b"x", partition=0)
            done += 1
            await asyncio.sleep(max(started + done / per_second - time.monotonic(), 0))
    finally:
        await producer.stop()


async def test_catchup_seconds_while_producing_slower_than_consuming(broker: KafkaCluster) -> None:
    """120 records behind, consuming 10/s while 4/s are produced: lag / (10 - 4) = 20 s; each
    prediction (window full, 2 s or more before the end) within 20 % of the drain measured."""
    topic, group = unique("catchprod"), unique("drainprod")
    bootstrap = broker.bootstrap
    await create_topics(bootstrap, {topic: 1})
    await produce(bootstrap, topic, {0: 120}, batch=True)
    await commit(bootstrap, group, {(topic, 0): 0})
    collector = KafkaCollector(_config(bootstrap, group, topic, time_lag={"window": "5s"}))
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_produce_paced(bootstrap, topic, 4.0, stop)),
        asyncio.create_task(_drain(bootstrap, topic, group, 10.0, stop)),
    ]
    predictions: list[tuple[float, float]] = []
    zero_at: float | None = None
    last_lagging = 0.0  # the last poll that still saw lag: the drain ended after it
    try:
        started = time.monotonic()
        while time.monotonic() - started < 45:
            before = time.monotonic()
            refresh = await collector.fetch()
            now = (before + time.monotonic()) / 2  # when the read saw the offsets
            series = _series(collector.to_metrics(refresh))
            catchup = _of(series, "kafka_consumergroup_catchup_seconds", consumergroup=group)
            newest = refresh.state.topics[topic][0].newest
            assert newest is not None
            # caught up: the group is within one produce interval of the end
            if newest - refresh.state.groups[group].offsets[(topic, 0)] <= 1:
                zero_at = now
                break
            last_lagging = now
            if catchup:
                predictions.append((now, next(iter(catchup.values()))))
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await collector.close()
    assert zero_at is not None, predictions
    checked = _checked_predictions(predictions, started, last_lagging, zero_at)
    assert len(checked) >= 10, checked
    print(f"catchup while producing, predicted vs measured (s): {checked}")

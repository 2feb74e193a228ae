"""`time_lag.method: auto` across exporter restarts and with a read budget, on real Kafka 4.x.

The truth is the timestamp of the record at the committed offset, as the broker stored it.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

from exporter.collectors.kafka.read.record_times import PARTITIONS_PER_FETCH
from tests.support.exporter_process import ExporterProcess, Samples, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, commit_many, create_topics, unique
from tests.support.lag_records import (
    Accuracy,
    Stamps,
    collector_for,
    create_topic,
    produce_at,
    produce_each,
    seconds_ago,
)

CONFIG = """
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: auto
    type: kafka
    bootstrap_servers: "{bootstrap}"
    groups: {{include: ["{group}"]}}
    topics: {{include: ["{topic}"]}}
"""


def _first_refresh(exporter: ExporterProcess, group: str) -> Samples:
    """The first scrape that has lag seconds for both partitions."""

    def ready() -> Samples | None:
        samples = exporter.metrics()
        found = [
            value(samples, "kafka_consumergroup_lag_seconds", consumergroup=group, partition=p)
            for p in ("0", "1")
        ]
        return samples if None not in found else None

    return wait_for(ready, 20, interval=0.05, what="lag seconds")


def _check(acc: Accuracy, samples: Samples, group: str, topic: str, truth: dict[int, float]):
    """Lag seconds of both partitions against the truth, as of the refresh that made them."""
    refreshed = value(
        samples, "kafka_health_exporter_collector_last_success_timestamp_seconds", collector="auto"
    )
    assert refreshed is not None
    assert value(samples, "kafka_health_exporter_lag_seconds_pending", collector="auto") == 0
    for partition, stamp in truth.items():
        reported = value(
            samples,
            "kafka_consumergroup_lag_seconds",
            consumergroup=group,
            topic=topic,
            partition=str(partition),
        )
        acc.check("restart", reported, refreshed - stamp)


async def test_first_refresh_after_start_and_restart_is_exact(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    """A group 300+ s behind: the first refresh of a fresh exporter reports it exactly, and so
    does the first refresh after a restart mid-run (where `estimate` reported about 66 s)."""
    bootstrap, acc = broker.bootstrap, Accuracy()
    topic, group = unique("restart"), unique("g")
    await create_topic(bootstrap, topic, 2)
    stamps: dict[int, Stamps] = {
        p: await produce_at(bootstrap, topic, p, seconds_ago(330 - 10 * p, 30)) for p in (0, 1)
    }
    await commit(bootstrap, group, {(topic, 0): 5, (topic, 1): 12})
    config = CONFIG.format(bootstrap=bootstrap, group=group, topic=topic)
    with ExporterProcess(config, tmp_path) as exporter:
        _check(
            acc, _first_refresh(exporter, group), group, topic, {0: stamps[0][5], 1: stamps[1][12]}
        )
        await asyncio.sleep(2)
        stamps[0] |= await produce_at(bootstrap, topic, 0, [None] * 5)  # production goes on
    await commit(bootstrap, group, {(topic, 0): 8, (topic, 1): 13})
    with ExporterProcess(config, tmp_path) as exporter:  # the restart
        samples = _first_refresh(exporter, group)
        _check(acc, samples, group, topic, {0: stamps[0][8], 1: stamps[1][13]})
    print(acc.report())


async def test_read_budget_converges_while_other_series_stay_current(
    own_broker: KafkaCluster,
) -> None:
    """2000 lagging partitions at start: `reads_per_refresh` of them a refresh, the oldest
    first; exact after ceil(2000 / budget) refreshes; watermarks and lag stay current. On a
    broker of its own: 2000 partitions on the session's broker would slow every later test."""
    bootstrap, acc = own_broker.bootstrap, Accuracy()
    topics = [unique("many") for _ in range(4)]
    per_topic, budget = 500, 500
    await create_topics(bootstrap, dict.fromkeys(topics, per_topic))
    started = time.monotonic()
    wanted = {(t, p): seconds_ago(900 - p % 300, 1)[0] for t in topics for p in range(per_topic)}
    stamps = await produce_each(bootstrap, wanted)
    group = unique("many")
    await commit_many(bootstrap, {group: {tp: 0 for tp in stamps}})
    print(f"setup of 2000 partitions: {time.monotonic() - started:.1f}s")
    collector = collector_for(bootstrap, group, "|".join(topics), reads_per_refresh=budget)
    expected_refreshes = math.ceil(len(stamps) / budget)
    pendings, requests, durations = [], [], []
    try:
        for n in range(expected_refreshes + 1):
            await produce_at(bootstrap, topics[0], 0, [None])  # a series that must stay current
            began = time.monotonic()
            refresh = await collector.fetch()
            took = time.monotonic() - began
            durations.append(round(took, 2))
            ev = refresh.evaluation
            pendings.append(ev.pending)
            requests.append(refresh.record_requests)
            assert refresh.state.topics[topics[0]][0].newest == n + 2
            # First refresh: only what was read (one observation tells no time); then all.
            assert len(ev.lag_seconds) == (budget if n == 0 else len(stamps)), n
            assert took < collector.config.timeout, took
            assert ev.pending == max(len(stamps) - budget * (n + 1), 0), (n, ev.pending)
        now = ev.observed_at
        for (topic, p), stamp in stamps.items():
            acc.check("2000 partitions", ev.lag_seconds.get((group, topic, p)), now - stamp)
    finally:
        await collector.close()
    per_fetch = math.ceil(budget / PARTITIONS_PER_FETCH)
    assert requests[:expected_refreshes] == [per_fetch] * expected_refreshes, requests
    assert requests[expected_refreshes] == 0
    print(f"budget {budget}: pending {pendings}, Fetch requests {requests}, refresh s {durations}")
    print(acc.report())

"""Replication series on a real three-node Apache Kafka 4.x cluster: healthy values, a broker down
(the first bootstrap server, leader of some partitions and coordinator of the group), a crashed
broker still in metadata, and partitions without any leader.

Every node is a combined KRaft broker+controller (static quorum of three). Brokers leave the
metadata fast: a controlled shutdown (SIGTERM) fences the broker at once, a crash (SIGKILL) after
`broker.session.timeout.ms`; `leader.imbalance.check.interval.seconds` brings preferred leaders
back soon after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.exporter_process import ExporterProcess, Samples, select, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, unique
from tests.support.kafka_jars import KAFKA_4
from tests.support.kafka_placement import create_placed_topics, group_coordinated_by, produce_all

FAST = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "leader.imbalance.check.interval.seconds": "2",
    "leader.imbalance.per.broker.percentage": "0",
}


@pytest.fixture
def cluster() -> Iterator[KafkaCluster]:
    """Three Kafka 4.x nodes that notice a stopped broker within seconds."""
    with KafkaCluster(version=KAFKA_4, size=3, properties=FAST) as c:
        try:
            yield c
        finally:
            # The data is thrown away: no controlled shutdown (which hangs for its timeout on a
            # node that lost its quorum); `close()` then reaps nothing more and removes the data.
            for node in c.nodes:
                node.kill()


def _config(bootstrap: str, topics: str, groups: str) -> str:
    return f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: k
    type: kafka
    bootstrap_servers: "{bootstrap}"
    topics: {{include: ["{topics}.*"]}}
    groups: {{include: ["{groups}.*"]}}
"""


def _failures(m: Samples) -> float | None:
    return value(m, "kafka_health_exporter_collector_failures_total", collector="k")


def _partition(m: Samples, name: str, topic: str, partition: int) -> float | None:
    return value(m, f"kafka_topic_partition_{name}", topic=topic, partition=str(partition))


def _lag(m: Samples, group: str, topic: str, partition: int) -> float | None:
    return value(
        m, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=str(partition)
    )


def _until(exporter: ExporterProcess, check: Callable[[Samples], object], what: str) -> Samples:
    """Scrape until `check(samples)` passes (no AssertionError, truthy); returns those samples."""
    seen: list[Samples] = []

    def once() -> bool:
        m = exporter.metrics()
        seen[:] = [m]
        result = check(m)
        return result is None or bool(result)

    try:
        wait_for(once, 40, interval=0.3, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nexporter log tail:\n{exporter.log()[-4000:]}") from None
    return seen[0]


PLACEMENT = {0: [1, 2, 3], 1: [2, 3, 1], 2: [3, 1, 2]}
"""Three partitions, one preferred leader on each broker."""
PRODUCED = {0: 5, 1: 3, 2: 4}
COMMITTED = {0: 1, 1: 3, 2: 2}
LAG = {p: PRODUCED[p] - COMMITTED[p] for p in PRODUCED}


def _assert_healthy(m: Samples, topic: str, group: str, brokers: dict[int, str]) -> None:
    assert value(m, "kafka_health_exporter_collector_up", collector="k") == 1
    assert value(m, "kafka_brokers") == 3
    info = select(m, "kafka_broker_info")
    assert {(dict(lbl)["id"], dict(lbl)["address"]) for lbl in info} == {
        (str(i), a) for i, a in brokers.items()
    }
    assert value(m, "kafka_topic_partitions", topic=topic) == 3
    for p, replicas in PLACEMENT.items():
        assert _partition(m, "leader", topic, p) == replicas[0], p
        assert _partition(m, "replicas", topic, p) == 3
        assert _partition(m, "in_sync_replica", topic, p) == 3, p
        assert _partition(m, "leader_is_preferred", topic, p) == 1, p
        assert _partition(m, "under_replicated_partition", topic, p) == 0, p
        assert _partition(m, "current_offset", topic, p) == PRODUCED[p]
        assert _lag(m, group, topic, p) == LAG[p], p
    assert value(m, "kafka_consumergroup_lag_sum", consumergroup=group, topic=topic) == sum(
        LAG.values()
    )


def _assert_first_broker_down(m: Samples, topic: str, group: str) -> None:
    """Broker 1 (first bootstrap server, preferred leader of partition 0) is stopped."""
    assert value(m, "kafka_health_exporter_collector_up", collector="k") == 1
    assert value(m, "kafka_brokers") == 2
    assert {dict(lbl)["id"] for lbl in select(m, "kafka_broker_info")} == {"2", "3"}
    assert _partition(m, "leader", topic, 0) in (2, 3)  # moved off its preferred replica
    assert _partition(m, "leader_is_preferred", topic, 0) == 0
    for p in (1, 2):  # led by brokers that stayed
        assert _partition(m, "leader", topic, p) == PLACEMENT[p][0]
        assert _partition(m, "leader_is_preferred", topic, p) == 1
    for p in PLACEMENT:  # broker 1 holds a replica of every partition
        assert _partition(m, "replicas", topic, p) == 3
        assert _partition(m, "in_sync_replica", topic, p) == 2, p
        assert _partition(m, "under_replicated_partition", topic, p) == 1, p
        assert _partition(m, "current_offset", topic, p) == PRODUCED[p]
        assert _lag(m, group, topic, p) == LAG[p], p
    assert value(m, "kafka_consumergroup_lag_sum", consumergroup=group, topic=topic) == sum(
        LAG.values()
    )


async def test_first_bootstrap_broker_down_and_back(cluster: KafkaCluster, tmp_path: Path) -> None:
    first = cluster.nodes[0]
    assert cluster.bootstrap.split(",")[0] == first.bootstrap and first.node_id == 1
    topic, groups = unique("repl"), unique("repl-g")
    await create_placed_topics(cluster.bootstrap, {topic: PLACEMENT})
    await produce_all(cluster.bootstrap, topic, PRODUCED)
    await commit(cluster.bootstrap, f"{groups}-warmup", {(topic, 0): 0})  # offsets topic exists
    group = await group_coordinated_by(cluster.bootstrap, first.node_id, groups)
    await commit(cluster.bootstrap, group, {(topic, p): o for p, o in COMMITTED.items()})
    brokers = {n.node_id: n.bootstrap for n in cluster.nodes}
    config = _config(cluster.bootstrap, topic, groups)

    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready()
        m = _until(exporter, lambda m: _assert_healthy(m, topic, group, brokers), "healthy")
        failures = _failures(m)
        assert failures == 0

        # A controlled shutdown of broker 1: leader of partition 0, the group's coordinator and
        # the first bootstrap server.
        first.stop()
        _until(exporter, lambda m: _assert_first_broker_down(m, topic, group), "broker 1 down")

        # A fresh exporter bootstraps although its first bootstrap server refuses connections.
        with ExporterProcess(config, tmp_path) as fresh:
            fresh.wait_ready()
            _until(fresh, lambda m: _assert_first_broker_down(m, topic, group), "fresh exporter")
            assert _failures(fresh.metrics()) == 0

        cluster.restart(first)
        _until(exporter, lambda m: _assert_healthy(m, topic, group, brokers), "healthy again")
        # No refresh failed: not when the broker left, nor when it came back.
        m = exporter.metrics()
        assert _failures(m) == failures, exporter.log()[-4000:]


async def test_crashed_broker_and_partitions_without_leader(
    cluster: KafkaCluster, tmp_path: Path
) -> None:
    topic, groups = unique("lead"), unique("lead-g")
    spread, pair = f"{topic}-spread", f"{topic}-pair"
    await create_placed_topics(cluster.bootstrap, {spread: PLACEMENT, pair: {0: [1, 2], 1: [2, 1]}})
    await produce_all(cluster.bootstrap, spread, PRODUCED)
    await produce_all(cluster.bootstrap, pair, {0: 6, 1: 2})
    group = f"{groups}-one"
    committed = {(spread, p): o for p, o in COMMITTED.items()} | {(pair, 0): 2, (pair, 1): 1}
    await commit(cluster.bootstrap, group, committed)

    with ExporterProcess(_config(cluster.bootstrap, topic, groups), tmp_path) as exporter:
        exporter.wait_ready()

        def healthy(m: Samples) -> None:
            for p in (0, 1):
                assert _partition(m, "in_sync_replica", pair, p) == 2
                assert _partition(m, "leader_is_preferred", pair, p) == 1
            assert _lag(m, group, pair, 0) == 4
            assert _lag(m, group, spread, 0) == LAG[0]

        m = _until(exporter, healthy, "healthy")
        failures = _failures(m)

        # A crash: broker 1 stays in the metadata until its session times out; meanwhile every
        # request to it is refused, and the refresh must go on with what the others answer.
        cluster.nodes[0].kill()

        def crashed_gone(m: Samples) -> None:
            assert value(m, "kafka_brokers") == 2
            assert _partition(m, "leader", pair, 0) == 2
            assert _lag(m, group, spread, 0) == LAG[0]

        _until(exporter, crashed_gone, "crashed broker 1 fenced")
        assert _failures(exporter.metrics()) == failures, exporter.log()[-4000:]

        # Broker 2 too: both replicas of `pair` are down and unclean election is off, so its
        # partitions have no leader; the quorum keeps the last metadata on broker 3.
        cluster.nodes[1].stop()

        def leaderless(m: Samples) -> None:
            assert value(m, "kafka_health_exporter_collector_up", collector="k") == 1
            assert value(m, "kafka_brokers") == 1
            assert value(m, "kafka_topic_partitions", topic=pair) == 2
            for p in (0, 1):
                assert _partition(m, "leader", pair, p) is None  # no series, never -1
                assert _partition(m, "current_offset", pair, p) is None
                assert _partition(m, "oldest_offset", pair, p) is None
                assert _lag(m, group, pair, p) is None
                assert _partition(m, "replicas", pair, p) == 2
                assert _partition(m, "in_sync_replica", pair, p) == 0
                assert _partition(m, "leader_is_preferred", pair, p) == 0
                assert _partition(m, "under_replicated_partition", pair, p) == 1
            # the committed offsets are still known (__consumer_offsets has a replica on 3)
            assert (
                value(
                    m,
                    "kafka_consumergroup_current_offset",
                    consumergroup=group,
                    topic=pair,
                    partition="0",
                )
                == 2
            )
            for p in PLACEMENT:  # every partition of `spread` is led by broker 3 now
                assert _partition(m, "leader", spread, p) == 3
                assert _partition(m, "in_sync_replica", spread, p) == 1
                assert _partition(m, "under_replicated_partition", spread, p) == 1
                assert _partition(m, "leader_is_preferred", spread, p) == (1 if p == 2 else 0)
                assert _lag(m, group, spread, p) == LAG[p]

        _until(exporter, leaderless, "partitions without leader")
        assert _failures(exporter.metrics()) == failures, exporter.log()[-4000:]

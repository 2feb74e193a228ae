"""The `e2e_probe` option on real Kafka 4.x: the canary topic is made (one partition per broker,
the cluster's default replication), records go round the cluster every interval and come back,
with kminion's families on the exporter's page; commits land in the probe's own group. On three
nodes with a canary of replication 1, stopping the leader of one partition makes that partition's
produces fail (or its records lost) while the others keep going round."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig
from tests.support.exporter_process import ExporterProcess, Samples, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import unique
from tests.support.kafka_jars import KAFKA_4
from tests.support.kafka_security import make_certificates, secure_cluster
from tests.support.kafka_security_cases import assert_no_secret, sasl

FAST = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
}
E2E = "kminion_end_to_end"


@pytest.fixture
def cluster() -> Iterator[KafkaCluster]:
    """Three Kafka 4.x nodes that notice a stopped broker within seconds."""
    with KafkaCluster(version=KAFKA_4, size=3, properties=FAST) as c:
        try:
            yield c
        finally:
            for node in c.nodes:  # data thrown away: no controlled shutdown needed
                node.kill()


def _config(bootstrap: str, topic: str, probe: str, security: str = "") -> str:
    return f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: k
    type: kafka
    cluster: c1
    bootstrap_servers: "{bootstrap}"{security}
    topics: {{include: ["{topic}"]}}
    groups: {{include: ["^none$"]}}
    e2e_probe: {{topic: "{topic}", {probe}}}
"""


def _until(exporter: ExporterProcess, check: Callable[[Samples], object], what: str) -> Samples:
    """Scrape until `check(samples)` passes (no AssertionError, truthy); returns those samples."""
    seen: list[Samples] = []

    def once() -> bool:
        m = exporter.metrics()
        seen[:] = [m]
        try:
            result = check(m)
        except AssertionError:
            return False
        return result is None or bool(result)

    try:
        wait_for(once, 60, interval=0.3, what=what)
    except AssertionError as exc:
        last = {k: v for k, v in seen[0].items() if k[0].startswith(E2E)} if seen else {}
        raise AssertionError(f"{exc}\nlast: {last}\nlog:\n{exporter.log()[-4000:]}") from None
    return seen[0]


def _count(m: Samples, name: str, partition: int | str) -> float:
    """A partition's counter (or histogram count) of the probe, 0 when absent."""
    found = value(m, f"{E2E}_{name}", cluster="c1", partition_id=str(partition))
    return found or 0.0


async def _describe(bootstrap: str, topic: str) -> dict[int, list[int]]:
    """Partition -> replicas of `topic`, as Admin describes it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        assert described["error_code"] == 0, described
        return {p["partition"]: list(p["replicas"]) for p in described["partitions"]}
    finally:
        await admin.close()


async def _committed(bootstrap: str, group: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp.partition: meta.offset for tp, meta in offsets.items()}
    finally:
        await admin.close()


@pytest.mark.parametrize("isolation", ["thread", "process"])
async def test_round_trip_on_one_broker(
    broker: KafkaCluster, tmp_path: Path, isolation: str
) -> None:
    topic = unique("e2e")
    config = _config(broker.bootstrap, topic, "interval: 200ms, timeout: 3s")
    config = f"server: {{collector_isolation: {isolation}}}\n{config}"
    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready()

        def went_round(m: Samples) -> None:
            assert _count(m, "roundtrip_latency_seconds_count", 0) >= 10
            assert _count(m, "produce_latency_seconds_count", 0) >= 10
            assert (value(m, f"{E2E}_offset_commits_total", cluster="c1") or 0) >= 3

        m = _until(exporter, went_round, "records went round")
        produced = _count(m, "messages_produced_total", 0)
        received = _count(m, "messages_received_total", 0)
        # a record may be read back just before its acknowledgement is counted, or still be
        # on its way: the two counts are within the records of a few intervals
        assert abs(produced - received) <= 3, (produced, received)
        assert _count(m, "messages_produced_failed_total", 0) == 0
        assert _count(m, "messages_lost_total", 0) == 0
        assert _count(m, "roundtrip_latency_seconds_count", 0) == received
        assert _count(m, "produce_latency_seconds_count", 0) == produced  # none failed
        # cumulative buckets end at +Inf with the count; a local round trip is under 1.28 s
        rt = f"{E2E}_roundtrip_latency_seconds_bucket"
        inf = value(m, rt, cluster="c1", partition_id="0", le="+Inf")
        assert inf == received
        assert value(m, rt, cluster="c1", partition_id="0", le="1.28") == received
        assert _count(m, "roundtrip_latency_seconds_sum", 0) > 0
        assert value(m, f"{E2E}_offset_commit_latency_seconds_count", coordinator_id="1")
        # the topic was made: one partition for the one broker, the default replication (1)
        assert await _describe(broker.bootstrap, topic) == {0: [1]}
        assert f"e2e probe made topic '{topic}'" in exporter.log()
        assert value(m, "kafka_topic_partitions", topic=topic) == 1
        committed = await _committed(broker.bootstrap, "kafka-health-exporter-e2e-k")
        assert committed.keys() == {0} and committed[0] > 0
        _until(  # what was committed was produced (the page trails by a refresh)
            exporter,
            lambda m: _count(m, "messages_produced_total", 0) >= committed[0],
            "produced count reaching the committed offset",
        )
        assert exporter.stop() == 0
    log = exporter.log()
    assert "Traceback" not in log and "Unclosed" not in log and "was destroyed" not in log, log


async def test_close_stops_the_probe(broker: KafkaCluster) -> None:
    topic = unique("e2e-close")
    config = KafkaConfig(
        name="probe",
        type="kafka",
        bootstrap_servers=[broker.bootstrap],
        cluster="c1",
        interval=5.0,
        timeout=4.0,
        topics={"include": [topic]},
        e2e_probe={"topic": topic, "interval": 0.2, "timeout": 3.0, "group_id": f"{topic}-g"},
    )
    collector = KafkaCollector(config)
    try:
        await collector.fetch()  # starts the probe
        for _ in range(100):
            fetched = await collector.fetch()
            assert fetched.probe is not None
            if sum(fetched.probe.received.values()) >= 3:
                break
            await asyncio.sleep(0.1)
        families = {f.name: f for f in collector.to_metrics(fetched)}
        hist = families[f"{E2E}_roundtrip_latency_seconds"]
        assert hist.type == "histogram"
        counts = [s.value for s in hist.samples if s.name.endswith("_count")]
        assert counts and counts[0] >= 3
    finally:
        await collector.close()
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not [t for t in left if "e2e-probe" in t.get_name()], left
    assert await _committed(broker.bootstrap, f"{topic}-g")


async def test_stopped_leader_fails_its_partition_only(
    cluster: KafkaCluster, tmp_path: Path
) -> None:
    topic = unique("e2e-down")
    probe = "interval: 250ms, timeout: 2s, replication_factor: 1"
    with ExporterProcess(_config(cluster.bootstrap, topic, probe), tmp_path) as exporter:
        exporter.wait_ready()

        def all_round(m: Samples) -> None:
            for p in range(3):
                assert _count(m, "messages_received_total", p) >= 5, p

        m = _until(exporter, all_round, "records went round on every partition")
        replicas = await _describe(cluster.bootstrap, topic)
        assert sorted(len(r) for r in replicas.values()) == [1, 1, 1]  # replication 1
        assert sorted(r[0] for r in replicas.values()) == [1, 2, 3]  # one partition per broker
        for p in range(3):
            assert _count(m, "messages_produced_failed_total", p) == 0
            assert _count(m, "messages_lost_total", p) == 0
        # the victim: a partition led by a broker other than the first bootstrap server
        victim = next(p for p, r in sorted(replicas.items()) if r[0] != 1)
        others = [p for p in range(3) if p != victim]
        node = next(n for n in cluster.nodes if n.node_id == replicas[victim][0])
        before = {p: _count(m, "messages_received_total", p) for p in others}
        failed_before = {p: _count(m, "messages_produced_failed_total", p) for p in range(3)}
        node.stop()

        def victim_fails(m: Samples) -> None:
            bad = _count(m, "messages_produced_failed_total", victim) + _count(
                m, "messages_lost_total", victim
            )
            assert bad >= failed_before[victim] + 5
            for p in others:
                assert _count(m, "messages_received_total", p) >= before[p] + 10, p

        m = _until(exporter, victim_fails, f"partition {victim} failing, the others not")
        for p in others:  # the partitions of live leaders never failed
            assert _count(m, "messages_produced_failed_total", p) == failed_before[p], p
            assert _count(m, "messages_lost_total", p) == 0, p
        received = _count(m, "messages_received_total", victim)
        m = _until(
            exporter,
            lambda m: _count(m, "messages_produced_failed_total", victim) >= 8,
            "failures keep counting",
        )
        assert _count(m, "messages_received_total", victim) == received  # nothing came back
        assert exporter.stop() == 0
    log = exporter.log()
    assert "Traceback" not in log and "never retrieved" not in log, log[-4000:]


async def test_topic_that_cannot_be_made_is_explained(broker: KafkaCluster, tmp_path: Path) -> None:
    topic = unique("e2e-rf")
    probe = "interval: 200ms, timeout: 2s, replication_factor: 3"
    with ExporterProcess(_config(broker.bootstrap, topic, probe), tmp_path) as exporter:
        exporter.wait_ready()
        wait_for(
            lambda: exporter.log().count("InvalidReplicationFactorError") >= 2,
            30,
            what=f"the refused topic logged, tried again: {exporter.log()[-3000:]}",
        )
        line = next(x for x in exporter.log().splitlines() if "InvalidReplicationFactor" in x)
        assert "WARNING" in line and f"'{topic}'" in line and "replication 3" in line, line
        m = exporter.metrics()
        assert value(m, "kafka_health_exporter_collector_up", collector="k") == 1
        assert not [k for k in m if k[0].startswith(E2E)]  # no probe series without a topic
        assert exporter.stop() == 0
    assert "Traceback" not in exporter.log()


async def test_round_trip_over_sasl_ssl(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The probe's producer, consumer and admin use the collector's TLS and SASL settings."""
    certs = make_certificates(tmp_path_factory.mktemp("certs"))
    settings = sasl("SASL_SSL", "SCRAM-SHA-512")(certs)
    security = "".join(f"\n    {k}: '{v}'" for k, v in settings.items())
    with secure_cluster(certs) as cluster:
        topic = unique("e2e-tls")
        config = _config(
            cluster.listener_bootstrap("SASL_TLS"), topic, "interval: 200ms, timeout: 3s", security
        )
        with ExporterProcess(config, tmp_path) as exporter:
            exporter.wait_ready()
            m = _until(
                exporter,
                lambda m: _count(m, "messages_received_total", 0) >= 5,
                "records went round over SASL_SSL",
            )
            assert _count(m, "messages_produced_failed_total", 0) == 0
            assert exporter.stop() == 0
        log = exporter.log()
        assert f"e2e probe made topic '{topic}'" in log
        assert_no_secret("the exporter log", log)

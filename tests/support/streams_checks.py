"""The exporter's view of a real Kafka Streams app, for tests/e2e/test_jmx_streams_e2e.py.

The exporter config and its timing bounds, topics and records for the app, and the checks: the
collector-scoped `/health`, the `kafka_streams_*` series of `/metrics`, and `probe --jmx`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from tests.support.exporter_process import (
    ExporterProcess,
    Samples,
    run_cli,
    select,
    value,
    wait_for,
)
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import create_topics, unique
from tests.support.kafka_jars import KAFKA_4
from tests.support.streams_app import StreamsApp

NAME = "streams"
INTERVAL, TIMEOUT, GRACE = 2.0, 1.8, 5.0
SLACK = 3.0
"""A loaded 2-core machine: a query JVM may start late, the answer may take a moment."""
ONE_REFRESH = INTERVAL + TIMEOUT + SLACK
"""Bound for a change JMX can still report (dead client, closed client, new JVM) to show."""
PAST_GRACE = INTERVAL + GRACE + TIMEOUT + SLACK
"""Bound for JMX that stopped answering (killed, hung JVM) to turn /health to 503."""
CONFIG = """\
collectors:
  - name: {name}
    type: jmx
    port: {port}
    interval: {interval:g}s
    timeout: {timeout:g}s
    unreachable_grace: {grace:g}s
"""


def make_topics(kafka: KafkaCluster) -> tuple[str, str]:
    topics = (unique("orders-in"), unique("orders-out"))
    asyncio.run(create_topics(kafka.bootstrap, {topics[0]: 2, topics[1]: 2}))
    return topics


def produce_values(bootstrap: str, topic: str, *values: str) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
        await producer.start()
        try:
            for item in values:
                await producer.send_and_wait(topic, item.encode(), key=b"order-1")
        finally:
            await producer.stop()

    asyncio.run(send())


def read_values(bootstrap: str, topic: str, wanted: int, timeout: float) -> list[str]:
    async def read() -> list[str]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
            found: list[str] = []
            deadline = time.monotonic() + timeout
            while len(found) < wanted and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                found += [r.value.decode() for rs in batches.values() for r in rs if r.value]
            return found
        finally:
            await consumer.stop()

    return asyncio.run(read())


def scoped_health(exporter: ExporterProcess) -> tuple[int, dict[str, Any]]:
    status, body = exporter.get_json(f"/health?collector={NAME}")
    return status, body["collectors"][NAME]


def wait_status(
    exporter: ExporterProcess,
    wanted: int,
    timeout: float,
    what: str,
    seen: list[tuple[int, str]] | None = None,
) -> float:
    """Wait until the scoped /health answers `wanted`; the seconds it took. Every answer on the
    way is appended to `seen` (status, reason)."""
    start = time.monotonic()
    answers = [] if seen is None else seen

    def check() -> bool:
        status, entry = scoped_health(exporter)
        answers.append((status, entry["reason"]))
        return status == wanted

    wait_for(
        check,
        timeout,
        what=f"{what}: /health {wanted} (last {answers[-3:]}); log {exporter.log()[-2000:]}",
    )
    return time.monotonic() - start


def within_grace(seen: list[tuple[int, str]]) -> bool:
    """A failed refresh was reported healthy: JMX not answering, but not for the grace yet."""
    return any(s == 200 and f"within the grace of {GRACE:g}s" in r for s, r in seen)


def client_states(samples: Samples) -> dict[str, str]:
    """client_id -> the state whose kafka_streams_state series is 1."""
    return {
        dict(labels)["client_id"]: dict(labels)["state"]
        for labels, v in select(samples, "kafka_streams_state", target=NAME).items()
        if v == 1.0
    }


def expected_state(version: str) -> str:
    """The measured facts: 4.x reads `state` as a String; 3.x as null (`unknown`) and has no
    `client-state` to fall back on."""
    return "RUNNING" if version.split(".")[0] == KAFKA_4.split(".")[0] else "unknown"


def assert_running(exporter: ExporterProcess, version: str, app_id: str, threads: int) -> None:
    """Healthy, alive, `threads` alive stream threads, and the version's state reading."""

    def running() -> Samples | None:
        samples = exporter.metrics()
        states = client_states(samples)
        ok = (
            scoped_health(exporter)[0] == 200
            and value(samples, "kafka_streams_alive", target=NAME) == 1.0
            and list(states.values()) == [expected_state(version)]
            and list(select(samples, "kafka_streams_alive_stream_threads").values())
            == [float(threads)]
            # the client registers its task metrics just after RUNNING: wait for them too
            and (value(samples, "kafka_streams_kafka_metrics_count_count", target=NAME) or 0) > 50
        )
        return samples if ok else None

    samples = wait_for(running, ONE_REFRESH + 5, what=f"running: {scoped_health(exporter)}")
    assert samples is not None
    (client_id,) = client_states(samples)
    assert client_id.startswith(app_id + "-"), client_id  # application.id + process UUID
    count = value(samples, "kafka_streams_kafka_metrics_count_count", target=NAME)
    assert count is not None and count > 50, count  # ~100-160 metrics while running, never 1
    status, entry = scoped_health(exporter)
    assert status == 200 and entry["up"] is True, entry
    assert (
        f"state {expected_state(version)}, {threads} alive stream thread(s)" in entry["reason"]
    ), entry


def assert_beans_gone(exporter: ExporterProcess) -> None:
    """Soon JMX answers but every kafka.streams MBean is gone: alive 0, no per-client series.
    Until then a refresh may have caught the client dying (4.x: PENDING_ERROR or
    PENDING_SHUTDOWN; 3.x: 0 alive threads): 503 throughout."""
    seen: list[tuple[int, str]] = []

    def gone() -> bool:
        status, entry = scoped_health(exporter)
        seen.append((status, entry["reason"]))
        assert status == 503 and entry["up"] is True, entry
        return "JMX answers but the Kafka Streams MBeans are gone" in entry["reason"]

    wait_for(gone, ONE_REFRESH, what=f"the MBeans gone: {seen[-3:]}")
    samples = exporter.metrics()
    assert value(samples, "kafka_streams_alive", target=NAME) == 0.0
    assert select(samples, "kafka_streams_state") == {}
    assert select(samples, "kafka_streams_alive_stream_threads") == {}
    assert select(samples, "kafka_streams_kafka_metrics_count_count") == {}


def probe(app: StreamsApp, *extra: str) -> tuple[int, str]:
    done = run_cli("probe", "--jmx", app.host_port, *extra)
    return done.returncode, done.stdout + done.stderr


def streams_exporter(port: int, tmp_path: Path) -> ExporterProcess:
    config = CONFIG.format(name=NAME, port=port, interval=INTERVAL, timeout=TIMEOUT, grace=GRACE)
    return ExporterProcess(config, tmp_path)

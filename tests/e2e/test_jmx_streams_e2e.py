"""The jmx collector against REAL Kafka Streams (tests/support/streams), on Kafka 4.x and 3.9.x.

Per version, two apps' lives, each watched by one exporter subprocess (`/health?collector=`,
`/metrics`) and by `probe --jmx`:
- the default uncaught-exception handler (SHUTDOWN_CLIENT): a poison record kills the client
  (PENDING_ERROR -> ERROR; the JVM lives on), a restart heals it, `close()` kills it again, a
  restart heals it again;
- REPLACE_THREAD: a poison record costs one thread, which is replaced (the app stays healthy);
  then SIGSTOP (a hung JVM) until past the grace, SIGCONT, SIGKILL, and a restart.

What each version exposes (measured with `python -m tests.support.streams_app`, asserted here): 4.x
reads `state` as a String and has `client-state`; 3.x reads `state` as null (an enum the query
JVM cannot load) and has no `client-state`; after a dying thread (SHUTDOWN_CLIENT) or `close()`
every kafka.streams MBean, `kafka-metrics-count` included, is unregistered (ERROR is never
readable), and `count` is never 1.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from exporter.cli.demo.broker import free_port
from tests.support.exporter_process import (
    ROOT,
    ExporterProcess,
    Samples,
    run_cli,
    select,
    value,
    wait_for,
)
from tests.support.kafka_cluster import KAFKA_3, KAFKA_4, KafkaCluster
from tests.support.kafka_helpers import create_topics, unique
from tests.support.streams_app import StreamsApp, jmx_flags

VERSIONS = (KAFKA_4, KAFKA_3)
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
StartApp = Callable[..., StreamsApp]


@pytest.fixture(scope="module", params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    """The Kafka (Streams and broker) version; module scope groups each version's tests."""
    return str(request.param)


@pytest.fixture
def kafka(version: str, request: pytest.FixtureRequest) -> KafkaCluster:
    """The session's broker of the same major version as the Streams client."""
    major = version.split(".")[0]
    name = "kafka4" if major == KAFKA_4.split(".")[0] else "kafka3"
    cluster: KafkaCluster = request.getfixturevalue(name)
    assert cluster.version.split(".")[0] == major
    return cluster


@pytest.fixture
def start_app(version: str, kafka: KafkaCluster, tmp_path: Path) -> Iterator[StartApp]:
    """`start_app(app_id, topics, port, **kw)` starts a StreamsApp (one at a time: the previous
    one is stopped first); every app is stopped and reaped after the test, pass or fail."""
    started: list[StreamsApp] = []

    def start(app_id: str, topics: tuple[str, str], port: int, **kwargs: Any) -> StreamsApp:
        for app in started:
            app.stop()
        app = StreamsApp(
            version, kafka.bootstrap, app_id, topics, tmp_path / "apps", port=port, **kwargs
        )
        started.append(app)
        return app.start()

    try:
        yield start
    finally:
        for app in started:
            app.stop()


def _topics(kafka: KafkaCluster) -> tuple[str, str]:
    topics = (unique("orders-in"), unique("orders-out"))
    asyncio.run(create_topics(kafka.bootstrap, {topics[0]: 2, topics[1]: 2}))
    return topics


def _produce(bootstrap: str, topic: str, *values: str) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
        await producer.start()
        try:
            for item in values:
                await producer.send_and_wait(topic, item.encode(), key=b"order-1")
        finally:
            await producer.stop()

    asyncio.run(send())


def _read_values(bootstrap: str, topic: str, wanted: int, timeout: float) -> list[str]:
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


def _health(exporter: ExporterProcess) -> tuple[int, dict[str, Any]]:
    status, body = exporter.get_json(f"/health?collector={NAME}")
    return status, body["collectors"][NAME]


def _wait_status(
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
        status, entry = _health(exporter)
        answers.append((status, entry["reason"]))
        return status == wanted

    wait_for(
        check,
        timeout,
        what=f"{what}: /health {wanted} (last {answers[-3:]}); log {exporter.log()[-2000:]}",
    )
    return time.monotonic() - start


def _within_grace(seen: list[tuple[int, str]]) -> bool:
    """A failed refresh was reported healthy: JMX not answering, but not for the grace yet."""
    return any(s == 200 and f"within the grace of {GRACE:g}s" in r for s, r in seen)


def _state(samples: Samples) -> dict[str, str]:
    """client_id -> the state whose kafka_streams_state series is 1."""
    return {
        dict(labels)["client_id"]: dict(labels)["state"]
        for labels, v in select(samples, "kafka_streams_state", target=NAME).items()
        if v == 1.0
    }


def _expected_state(version: str) -> str:
    """The measured facts: 4.x reads `state` as a String; 3.x as null (`unknown`) and has no
    `client-state` to fall back on."""
    return "RUNNING" if version.split(".")[0] == KAFKA_4.split(".")[0] else "unknown"


def _assert_running(exporter: ExporterProcess, version: str, app_id: str, threads: int) -> None:
    """Healthy, alive, `threads` alive stream threads, and the version's state reading."""

    def running() -> Samples | None:
        samples = exporter.metrics()
        states = _state(samples)
        ok = (
            _health(exporter)[0] == 200
            and value(samples, "kafka_streams_alive", target=NAME) == 1.0
            and list(states.values()) == [_expected_state(version)]
            and list(select(samples, "kafka_streams_alive_stream_threads").values())
            == [float(threads)]
        )
        return samples if ok else None

    samples = wait_for(running, ONE_REFRESH + 5, what=f"running: {_health(exporter)}")
    assert samples is not None
    (client_id,) = _state(samples)
    assert client_id.startswith(app_id + "-"), client_id  # application.id + process UUID
    count = value(samples, "kafka_streams_kafka_metrics_count_count", target=NAME)
    assert count is not None and count > 50, count  # ~100-160 metrics while running, never 1
    status, entry = _health(exporter)
    assert status == 200 and entry["up"] is True, entry
    assert (
        f"state {_expected_state(version)}, {threads} alive stream thread(s)" in entry["reason"]
    ), entry


def _assert_beans_gone(exporter: ExporterProcess) -> None:
    """Soon JMX answers but every kafka.streams MBean is gone: alive 0, no per-client series.
    Until then a refresh may have caught the client dying (4.x: PENDING_ERROR or
    PENDING_SHUTDOWN; 3.x: 0 alive threads): 503 throughout."""
    seen: list[tuple[int, str]] = []

    def gone() -> bool:
        status, entry = _health(exporter)
        seen.append((status, entry["reason"]))
        assert status == 503 and entry["up"] is True, entry
        return "JMX answers but the Kafka Streams MBeans are gone" in entry["reason"]

    wait_for(gone, ONE_REFRESH, what=f"the MBeans gone: {seen[-3:]}")
    samples = exporter.metrics()
    assert value(samples, "kafka_streams_alive", target=NAME) == 0.0
    assert select(samples, "kafka_streams_state") == {}
    assert select(samples, "kafka_streams_alive_stream_threads") == {}
    assert select(samples, "kafka_streams_kafka_metrics_count_count") == {}


def _probe(app: StreamsApp, *extra: str) -> tuple[int, str]:
    done = run_cli("probe", "--jmx", app.host_port, *extra)
    return done.returncode, done.stdout + done.stderr


def _exporter(port: int, tmp_path: Path) -> ExporterProcess:
    config = CONFIG.format(name=NAME, port=port, interval=INTERVAL, timeout=TIMEOUT, grace=GRACE)
    return ExporterProcess(config, tmp_path)


def test_shutdown_client_poison_close_and_restarts(
    version: str, kafka: KafkaCluster, start_app: StartApp, tmp_path: Path
) -> None:
    topics, app_id, port = _topics(kafka), unique("orders"), free_port()
    app = start_app(app_id, topics, port, threads=2)  # the default handler: SHUTDOWN_CLIENT
    app.wait_state("RUNNING")
    with _exporter(port, tmp_path) as exporter:
        _assert_running(exporter, version, app_id, threads=2)
        code, out = _probe(app)
        assert code == 0 and out.startswith("healthy: JMX") and "2 alive stream" in out, out
        _produce(kafka.bootstrap, topics[0], "order-a", "order-b")
        assert sorted(_read_values(kafka.bootstrap, topics[1], 2, 30)) == ["ORDER-A", "ORDER-B"]

        # A poison record: the thread dies, SHUTDOWN_CLIENT takes the client down, the JVM lives.
        _produce(kafka.bootstrap, topics[0], "poison")
        app.wait_state("PENDING_ERROR", 30)
        app.wait_state("ERROR", 30)
        took = _wait_status(exporter, 503, ONE_REFRESH, "poison, SHUTDOWN_CLIENT")
        assert took <= INTERVAL + GRACE, took
        assert app.running, "the JVM of a dead Streams client keeps running"
        _assert_beans_gone(exporter)
        code, out = _probe(app)
        assert code == 1 and "answers but has no Kafka Streams MBeans" in out, out

        # A restart (same port, same application.id) heals it; the poison is now passed on.
        app = start_app(app_id, topics, port, threads=2, poison="pass")
        app.wait_state("RUNNING")
        _wait_status(exporter, 200, ONE_REFRESH, "restart after the poison")
        _assert_running(exporter, version, app_id, threads=2)
        assert _probe(app)[0] == 0

        # close() in a live JVM: the beans are unregistered, /health turns 503.
        assert app.close_streams().startswith("OK close true NOT_RUNNING")
        took = _wait_status(exporter, 503, ONE_REFRESH, "close()")
        assert took <= INTERVAL + GRACE, took
        assert app.running
        _assert_beans_gone(exporter)
        code, out = _probe(app)
        assert code == 1 and "no Kafka Streams MBeans" in out, out

        app = start_app(app_id, topics, port, threads=1, poison="pass")
        app.wait_state("RUNNING")
        _wait_status(exporter, 200, ONE_REFRESH, "restart after close()")
        _assert_running(exporter, version, app_id, threads=1)
        assert exporter.stop() == 0


def test_replace_thread_then_hung_then_killed_jvm(
    version: str, kafka: KafkaCluster, start_app: StartApp, tmp_path: Path
) -> None:
    topics, app_id, port = _topics(kafka), unique("orders"), free_port()
    app = start_app(app_id, topics, port, threads=2, handler="REPLACE_THREAD")
    app.wait_state("RUNNING")
    with _exporter(port, tmp_path) as exporter:
        _assert_running(exporter, version, app_id, threads=2)

        # A poison record with REPLACE_THREAD: one thread fails and is replaced; always healthy.
        _produce(kafka.bootstrap, topics[0], "poison")
        app.expect("HANDLER REPLACE_THREAD", 30)
        statuses: list[int] = []

        def replaced() -> bool:
            status, entry = _health(exporter)
            statuses.append(status)
            return "2 alive stream thread(s), 1 failed" in entry["reason"]

        wait_for(replaced, ONE_REFRESH + 5, what=f"a replaced thread: {_health(exporter)}")
        deadline = time.monotonic() + 2 * INTERVAL  # two more refreshes
        while time.monotonic() < deadline:
            statuses.append(_health(exporter)[0])
            time.sleep(0.2)
        assert set(statuses) == {200}, statuses
        _assert_running(exporter, version, app_id, threads=2)
        assert sorted(_read_values(kafka.bootstrap, topics[1], 1, 30)) == ["POISON"]
        code, out = _probe(app)
        assert code == 0 and "1 failed" in out, out

        # SIGSTOP: JMX connects but never answers; healthy within the grace, then 503.
        app.pause()
        seen: list[tuple[int, str]] = []
        took = _wait_status(exporter, 503, PAST_GRACE, "SIGSTOP", seen)
        assert took <= INTERVAL + GRACE, took
        assert _within_grace(seen), seen
        status, entry = _health(exporter)
        assert (
            status == 503 and entry["up"] is False and "JMX not answering for" in entry["reason"]
        ), entry
        reason = entry["reason"]  # the refresh's timeout or the query's, whichever fires first
        assert "refresh timed out after" in reason or "no answer from" in reason, entry
        assert value(exporter.metrics(), "kafka_health_exporter_collector_up", collector=NAME) == 0
        code, out = _probe(app, "--timeout", "3s")
        assert code == 1 and "no answer from" in out, out

        app.resume()  # SIGCONT: the same JVM answers again
        _wait_status(exporter, 200, ONE_REFRESH, "SIGCONT")
        assert value(exporter.metrics(), "kafka_streams_alive", target=NAME) == 1.0

        # SIGKILL: connection refused; 503 once the grace has passed.
        app.kill()
        seen = []
        took = _wait_status(exporter, 503, PAST_GRACE, "SIGKILL", seen)
        assert took <= INTERVAL + GRACE, took
        assert _within_grace(seen), seen
        status, entry = _health(exporter)
        assert status == 503 and "JMX not answering for" in entry["reason"], entry
        assert "Connection refused" in entry["reason"], entry
        code, out = _probe(app)
        assert code == 1 and "Connection refused" in out, out

        app = start_app(app_id, topics, port, threads=2, handler="REPLACE_THREAD")
        app.wait_state("RUNNING")
        _wait_status(exporter, 200, ONE_REFRESH, "restart after SIGKILL")
        _assert_running(exporter, version, app_id, threads=2)
        assert _probe(app)[0] == 0
        assert exporter.stop() == 0


def _java_tool_options(docs: list[Any]) -> list[str]:
    (deployment,) = [d for d in docs if d and d.get("kind") == "Deployment"]
    app = deployment["spec"]["template"]["spec"]["containers"][0]
    (env,) = [e for e in app["env"] if e["name"] == "JAVA_TOOL_OPTIONS"]
    return str(env["value"]).split()


def test_documented_jvm_flags_are_the_tested_ones() -> None:
    """examples/streams-sidecar.yaml and README's sidecar snippet start the app's JMX exactly
    as these tests start real Streams apps."""
    example = list(yaml.safe_load_all((ROOT / "examples" / "streams-sidecar.yaml").read_text()))
    assert _java_tool_options(example) == jmx_flags(5555)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- section: collector-jmx -->") :]
    snippet = re.findall(r"```yaml\n(.*?)```", section, re.S)[1]
    assert _java_tool_options(list(yaml.safe_load_all(snippet))) == jmx_flags(5555)

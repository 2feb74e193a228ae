"""The jmx collector against REAL Kafka Streams (tests/support/streams), on Kafka 4.x and 3.9.x.

Per version, two apps' lives, each watched by one exporter subprocess (`/health?collector=`,
`/metrics`) and by `probe --jmx`:
- the default uncaught-exception handler (SHUTDOWN_CLIENT): a poison record kills the client
  (PENDING_ERROR -> ERROR; the JVM lives on), a restart heals it, `close()` kills it again, a
  restart heals it again;
- REPLACE_THREAD: a poison record costs one thread, which is replaced (the app stays healthy);
  then SIGSTOP (a hung JVM) until past the grace, SIGCONT, SIGKILL, and a restart.

What each version exposes (measured with `python -m tests.support.streams_inventory`, asserted
here): 4.x reads `state` as a String and has `client-state`; 3.x reads `state` as null (an enum the
query JVM cannot load) and has no `client-state`; after a dying thread (SHUTDOWN_CLIENT) or
`close()` every kafka.streams MBean, `kafka-metrics-count` included, is unregistered (ERROR is
never readable), and `count` is never 1. The checks are in tests/support/streams_checks.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.cli.demo.processes import free_port
from tests.support.exporter_process import ROOT, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import unique
from tests.support.kafka_jars import KAFKA_3, KAFKA_4
from tests.support.streams_app import StreamsApp
from tests.support.streams_checks import (
    GRACE,
    INTERVAL,
    NAME,
    ONE_REFRESH,
    PAST_GRACE,
    assert_beans_gone,
    assert_running,
    make_topics,
    probe,
    produce_values,
    read_values,
    scoped_health,
    streams_exporter,
    wait_status,
    within_grace,
)
from tests.support.streams_jvm import jmx_flags

VERSIONS = (KAFKA_4, KAFKA_3)
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


def test_shutdown_client_poison_close_and_restarts(
    version: str, kafka: KafkaCluster, start_app: StartApp, tmp_path: Path
) -> None:
    topics, app_id, port = make_topics(kafka), unique("orders"), free_port()
    app = start_app(app_id, topics, port, threads=2)  # the default handler: SHUTDOWN_CLIENT
    app.wait_state("RUNNING")
    with streams_exporter(port, tmp_path) as exporter:
        assert_running(exporter, version, app_id, threads=2)
        code, out = probe(app)
        assert code == 0 and out.startswith("healthy: JMX") and "2 alive stream" in out, out
        produce_values(kafka.bootstrap, topics[0], "order-a", "order-b")
        assert sorted(read_values(kafka.bootstrap, topics[1], 2, 30)) == ["ORDER-A", "ORDER-B"]

        # A poison record: the thread dies, SHUTDOWN_CLIENT takes the client down, the JVM lives.
        produce_values(kafka.bootstrap, topics[0], "poison")
        app.wait_state("PENDING_ERROR", 30)
        app.wait_state("ERROR", 30)
        took = wait_status(exporter, 503, ONE_REFRESH, "poison, SHUTDOWN_CLIENT")
        assert took <= INTERVAL + GRACE, took
        assert app.running, "the JVM of a dead Streams client keeps running"
        assert_beans_gone(exporter)
        code, out = probe(app)
        assert code == 1 and "answers but has no Kafka Streams MBeans" in out, out

        # A restart (same port, same application.id) heals it; the poison is now passed on.
        app = start_app(app_id, topics, port, threads=2, poison="pass")
        app.wait_state("RUNNING")
        wait_status(exporter, 200, ONE_REFRESH, "restart after the poison")
        assert_running(exporter, version, app_id, threads=2)
        assert probe(app)[0] == 0

        # close() in a live JVM: the beans are unregistered, /health turns 503.
        assert app.close_streams().startswith("OK close true NOT_RUNNING")
        took = wait_status(exporter, 503, ONE_REFRESH, "close()")
        assert took <= INTERVAL + GRACE, took
        assert app.running
        assert_beans_gone(exporter)
        code, out = probe(app)
        assert code == 1 and "no Kafka Streams MBeans" in out, out

        app = start_app(app_id, topics, port, threads=1, poison="pass")
        app.wait_state("RUNNING")
        wait_status(exporter, 200, ONE_REFRESH, "restart after close()")
        assert_running(exporter, version, app_id, threads=1)
        assert exporter.stop() == 0


def test_replace_thread_then_hung_then_killed_jvm(
    version: str, kafka: KafkaCluster, start_app: StartApp, tmp_path: Path
) -> None:
    topics, app_id, port = make_topics(kafka), unique("orders"), free_port()
    app = start_app(app_id, topics, port, threads=2, handler="REPLACE_THREAD")
    app.wait_state("RUNNING")
    with streams_exporter(port, tmp_path) as exporter:
        assert_running(exporter, version, app_id, threads=2)

        # A poison record with REPLACE_THREAD: one thread fails and is replaced; always healthy.
        produce_values(kafka.bootstrap, topics[0], "poison")
        app.expect("HANDLER REPLACE_THREAD", 30)
        statuses: list[int] = []

        def replaced() -> bool:
            status, entry = scoped_health(exporter)
            statuses.append(status)
            return "2 alive stream thread(s), 1 failed" in entry["reason"]

        wait_for(replaced, ONE_REFRESH + 5, what=f"a replaced thread: {scoped_health(exporter)}")
        deadline = time.monotonic() + 2 * INTERVAL  # two more refreshes
        while time.monotonic() < deadline:
            statuses.append(scoped_health(exporter)[0])
            time.sleep(0.2)
        assert set(statuses) == {200}, statuses
        assert_running(exporter, version, app_id, threads=2)
        assert sorted(read_values(kafka.bootstrap, topics[1], 1, 30)) == ["POISON"]
        code, out = probe(app)
        assert code == 0 and "1 failed" in out, out

        # SIGSTOP: JMX connects but never answers; healthy within the grace, then 503.
        app.pause()
        seen: list[tuple[int, str]] = []
        took = wait_status(exporter, 503, PAST_GRACE, "SIGSTOP", seen)
        assert took <= INTERVAL + GRACE, took
        assert within_grace(seen), seen
        status, entry = scoped_health(exporter)
        assert (
            status == 503 and entry["up"] is False and "JMX not answering for" in entry["reason"]
        ), entry
        reason = entry["reason"]  # the refresh's timeout or the query's, whichever fires first
        assert "refresh timed out after" in reason or "no answer from" in reason, entry
        assert value(exporter.metrics(), "kafka_health_exporter_collector_up", collector=NAME) == 0
        code, out = probe(app, "--timeout", "3s")
        assert code == 1 and "no answer from" in out, out

        app.resume()  # SIGCONT: the same JVM answers again
        wait_status(exporter, 200, ONE_REFRESH, "SIGCONT")
        assert value(exporter.metrics(), "kafka_streams_alive", target=NAME) == 1.0

        # SIGKILL: connection refused; 503 once the grace has passed.
        app.kill()
        seen = []
        took = wait_status(exporter, 503, PAST_GRACE, "SIGKILL", seen)
        assert took <= INTERVAL + GRACE, took
        assert within_grace(seen), seen
        status, entry = scoped_health(exporter)
        assert status == 503 and "JMX not answering for" in entry["reason"], entry
        assert "Connection refused" in entry["reason"], entry
        code, out = probe(app)
        assert code == 1 and "Connection refused" in out, out

        app = start_app(app_id, topics, port, threads=2, handler="REPLACE_THREAD")
        app.wait_state("RUNNING")
        wait_status(exporter, 200, ONE_REFRESH, "restart after SIGKILL")
        assert_running(exporter, version, app_id, threads=2)
        assert probe(app)[0] == 0
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

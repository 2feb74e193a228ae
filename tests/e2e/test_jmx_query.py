"""The jmx collector against a real JVM with Kafka Streams-shaped MBeans (no mocks).

Covers every client shape (4.x string state, 3.x enum state read as null, 3.x beans removed on
death, pre-KIP-444 count only), extra beans, password auth, and that a hung JVM's query is killed
and never leaked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Callable

import pytest

from exporter.collectors.base import Health
from exporter.collectors.jmx import JmxCollector
from exporter.collectors.jmx.bridge import JAVA_OPTIONS, SOURCE
from exporter.collectors.jmx.config import JmxConfig
from exporter.collectors.jmx.query import JmxError
from exporter.collectors.jmx.verdict import streams_alive, streams_health
from exporter.config.loader import parse_config
from tests.support.jmx_app import FakeStreamsJvm, jmx_classes, start_jvm

__all__ = ["jmx_classes", "start_jvm"]

StartJvm = Callable[..., FakeStreamsJvm]


_OPEN: list[JmxCollector] = []


@pytest.fixture(autouse=True)
async def _close_collectors() -> AsyncIterator[None]:
    """Every collector a test made stops its bridge JVM, even when the test fails."""
    try:
        yield
    finally:
        while _OPEN:
            await _OPEN.pop().close()


def _track(collector: JmxCollector) -> JmxCollector:
    _OPEN.append(collector)
    return collector


def _collector(port: int, extra: str = "", timeout: str = "8s") -> JmxCollector:
    text = (
        f"collectors:\n  - {{name: app, type: jmx, port: {port}, timeout: {timeout},"
        f" unreachable_grace: 1h{extra}}}\n"
    )
    entry = parse_config(text, "test.yaml", {}).collectors[0]
    assert isinstance(entry, JmxConfig)
    return _track(JmxCollector(entry))


@pytest.mark.parametrize(
    ("mode", "state_when_alive", "state_when_dead"),
    [("string", "RUNNING", "ERROR"), ("enum", None, None), ("removed", None, None)],
)
async def test_kip444_clients_alive_dead_alive(
    start_jvm: StartJvm, mode: str, state_when_alive: str | None, state_when_dead: str | None
) -> None:
    jvm = start_jvm(mode)
    collector = _collector(jvm.port)

    running = await collector.fetch()
    assert running.count == 57.0
    assert [(c.client_id, c.state, c.alive_threads) for c in running.clients] == [
        ("orders-app-7f1c2d3e", state_when_alive, 2)
    ]
    assert streams_alive(running) and collector.health(running).healthy

    jvm.send("dead")
    dead = await collector.fetch()
    assert not streams_alive(dead)
    health = collector.health(dead)
    assert not health.healthy
    if mode == "removed":
        assert not dead.present
        assert health.reason == "JMX answers but the Kafka Streams MBeans are gone (client closed)"
    else:
        assert dead.count == 1.0
        assert dead.clients[0].state == state_when_dead
        assert dead.clients[0].alive_threads == 0
        assert dead.clients[0].failed_threads == 2.0

    jvm.send("alive")
    again = await collector.fetch()
    assert streams_alive(again) and collector.health(again).healthy


async def test_old_client_without_stream_metrics_uses_the_count(start_jvm: StartJvm) -> None:
    jvm = start_jvm("old")
    collector = _collector(jvm.port)
    running = await collector.fetch()
    # The embedded consumer's and producer's kafka-metrics-count beans do not leak in.
    assert (running.count, running.clients, streams_alive(running)) == (57.0, (), True)
    jvm.send("dead")
    dead = await collector.fetch()
    assert (dead.count, streams_alive(dead), collector.health(dead).healthy) == (1.0, False, False)


async def test_extra_beans_in_the_same_call(start_jvm: StartJvm) -> None:
    jvm = start_jvm("string")
    beans = (
        ", beans: [{object_name: 'kafka.consumer:client-id=orders-app-7f1c2d3e-StreamThread-1-"
        "consumer,type=consumer-fetch-manager-metrics', attribute: records-lag-max,"
        " name: orders_records_lag_max},"
        " {object_name: 'java.lang:type=Memory', attribute: HeapMemoryUsage, key: used,"
        " name: orders_heap_used_bytes},"
        " {object_name: 'kafka.consumer:type=nothing-here', attribute: x, name: orders_absent}]"
    )
    collector = _collector(jvm.port, beans)
    reading = await collector.fetch()
    assert reading.beans["orders_records_lag_max"] == 12.0
    heap = reading.beans["orders_heap_used_bytes"]
    assert heap is not None and heap > 0
    assert reading.beans["orders_absent"] is None
    names = {family.name for family in collector.to_metrics(reading)}
    assert {"orders_records_lag_max", "orders_heap_used_bytes"} <= names
    assert "orders_absent" not in names


async def test_password_auth(start_jvm: StartJvm) -> None:
    jvm = start_jvm("string", credentials=("monitor", "s3cret-pw"))
    good = _collector(jvm.port, ", username: monitor, password: s3cret-pw")
    assert streams_alive(await good.fetch())
    for extra in (", username: monitor, password: wrong", ""):
        with pytest.raises(JmxError) as info:
            await _collector(jvm.port, extra).fetch()
        assert "java.lang.SecurityException: Authentication failed!" in str(info.value)
        assert "s3cret" not in str(info.value)


async def test_refused_connection_is_an_error_not_dead_beans() -> None:
    from exporter.cli.demo.processes import free_port

    port = free_port()
    with pytest.raises(JmxError, match=r"connection-error.*Connection refused"):
        await _collector(port).fetch()


async def test_hung_jvm_times_out_and_the_same_bridge_reads_it_again(start_jvm: StartJvm) -> None:
    jvm = start_jvm("string")
    collector = _collector(jvm.port, timeout="1500ms")
    try:
        assert streams_alive(await collector.fetch())
        bridge = collector._bridge.pid
        jvm.pause()
        started = time.monotonic()
        with pytest.raises(JmxError, match=r"no answer .* within 1\.5s"):
            await collector.fetch()
        assert time.monotonic() - started < 10

        # Cancelled from outside (the scheduler's own timeout): the bridge keeps serving.
        task = asyncio.ensure_future(collector.fetch())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        jvm.resume()
        assert streams_alive(await collector.fetch())
        assert collector._bridge.pid == bridge
    finally:
        jvm.resume()
        await collector.close()
    assert collector._bridge.pid is None


def test_orphaned_bridge_ends_with_its_input(start_jvm: StartJvm) -> None:
    """If the exporter is SIGKILLed mid-query, the bridge ends when its stdin closes."""
    jvm = start_jvm("string")
    request = json.dumps(
        {
            "id": 1,
            "url": _collector(jvm.port).config.url,
            "username": None,
            "password": None,
            "timeout_ms": 30000,
            "queries": [{"object_name": "java.lang:type=Runtime", "attribute": "Uptime"}],
        }
    )
    jvm.pause()
    bridge = subprocess.Popen(
        ["java", *JAVA_OPTIONS, str(SOURCE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert bridge.stdout is not None and bridge.stdin is not None
        assert json.loads(bridge.stdout.readline()) == {"ready": True}
        bridge.stdin.write(request + "\n")
        bridge.stdin.flush()
        time.sleep(0.5)
        assert bridge.poll() is None  # stuck in the hung call
        bridge.stdin.close()
        assert bridge.wait(20) == 0
    finally:
        jvm.resume()
        if bridge.poll() is None:
            bridge.kill()
        bridge.wait(10)


async def test_restarted_jvm_gets_the_grace_again(start_jvm: StartJvm) -> None:
    first = start_jvm("removed")
    collector = _collector(first.port)
    assert streams_alive(await collector.fetch())
    first.send("dead")
    gone = await collector.fetch()
    assert collector.health(gone).reason.endswith("MBeans are gone (client closed)")

    # The kubelet restarts the app: a new JVM on the same port, Streams client not built yet.
    first.kill()
    second = start_jvm("removed", port=first.port, late=True)
    starting = await collector.fetch()
    assert not starting.present and not streams_alive(starting)
    assert collector.health(starting) == Health(
        True, "JMX answers; no Kafka Streams MBeans yet (starting)"
    )
    impatient = _collector(second.port, timeout="8s").config.model_copy(
        update={"unreachable_grace": 0.001}
    )
    late = await _track(JmxCollector(impatient)).fetch()
    assert (
        "no Kafka Streams MBeans" in streams_health(late).reason
        and not streams_health(late).healthy
    )
    second.send("alive")
    assert streams_alive(await collector.fetch())

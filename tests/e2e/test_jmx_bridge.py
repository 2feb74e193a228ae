"""The jmx collector's long-lived bridge JVM against real fake-Streams JVMs (no mocks).

One bridge per collector across refreshes: it reconnects when the target restarts, is restarted
when it dies, is never respawned per refresh, and never carries the password on its command line.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from exporter.collectors.jmx import JmxCollector
from exporter.collectors.jmx.config import JmxConfig
from exporter.collectors.jmx.query import JmxError
from exporter.collectors.jmx.state import StreamsReading
from exporter.collectors.jmx.verdict import streams_alive
from exporter.config.loader import parse_config
from tests.support.exporter_process import ExporterProcess, value, wait_for
from tests.support.jmx_app import FakeStreamsJvm, jmx_classes, start_jvm

__all__ = ["jmx_classes", "start_jvm"]

StartJvm = Callable[..., FakeStreamsJvm]


@pytest.fixture
async def make_collector() -> AsyncIterator[Callable[..., JmxCollector]]:
    """`make_collector(port, extra)`; every collector's bridge is stopped after the test."""
    made: list[JmxCollector] = []

    def make(port: int, extra: str = "") -> JmxCollector:
        text = (
            f"collectors:\n  - {{name: app, type: jmx, port: {port}, timeout: 8s,"
            f" unreachable_grace: 1h{extra}}}\n"
        )
        entry = parse_config(text, "test.yaml", {}).collectors[0]
        assert isinstance(entry, JmxConfig)
        made.append(JmxCollector(entry))
        return made[-1]

    try:
        yield make
    finally:
        for collector in made:
            await collector.close()


def _cmdline(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def _java_descendants(root: int) -> list[int]:
    """PIDs of java processes below `root`, from /proc (ppid is field 4 of /proc/PID/stat)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], {root}
    while frontier:
        children = {pid for pid, ppid in parents.items() if ppid in frontier}
        for pid in children:
            try:
                if b"java" in _cmdline(pid)[0]:
                    found.append(pid)
            except (OSError, IndexError):
                continue
        frontier = children
    return sorted(found)


async def _until_alive(collector: JmxCollector, within: float) -> StreamsReading:
    """Refresh until the app reads alive (the bridge restarting in between); the last error."""
    deadline, last = time.monotonic() + within, ""
    while time.monotonic() < deadline:
        try:
            reading = await collector.fetch()
        except JmxError as exc:
            last = str(exc)
        else:
            if streams_alive(reading):
                return reading
        await asyncio.sleep(0.3)
    raise AssertionError(f"not alive within {within}s; last error: {last}")


async def test_reconnects_when_the_target_restarts(
    start_jvm: StartJvm, make_collector: Callable[..., JmxCollector]
) -> None:
    first = start_jvm("string")
    collector = make_collector(first.port)
    assert streams_alive(await collector.fetch())
    bridge = collector._bridge.pid
    first.kill()
    with pytest.raises(JmxError, match="Connection refused"):
        await collector.fetch()
    second = start_jvm("string", port=first.port)
    assert second.pid != first.pid
    assert streams_alive(await collector.fetch())
    assert collector._bridge.pid == bridge  # the same bridge JVM, a new connection


async def test_killed_bridge_is_restarted_and_the_collector_recovers(
    start_jvm: StartJvm, make_collector: Callable[..., JmxCollector]
) -> None:
    jvm = start_jvm("string")
    collector = make_collector(jvm.port)
    assert streams_alive(await collector.fetch())
    bridge = collector._bridge.pid
    assert bridge is not None
    os.kill(bridge, signal.SIGKILL)
    await _until_alive(collector, 30)
    assert collector._bridge.pid not in (None, bridge)


def test_one_bridge_across_refreshes_and_no_password_on_its_command_line(
    start_jvm: StartJvm, tmp_path: Path
) -> None:
    jvm = start_jvm("string", credentials=("monitor", "s3cret-pw"))
    config = (
        "collectors:\n  - name: orders\n    type: jmx\n"
        f"    port: {jvm.port}\n    interval: 2s\n    timeout: 1500ms\n"
        "    username: monitor\n    password: ${JMX_PASSWORD}\n"
    )
    env = {"JMX_PASSWORD": "s3cret-pw"}
    with ExporterProcess(config, tmp_path, env=env) as exporter:
        assert exporter.process is not None

        def last_success() -> float:
            name = "kafka_health_exporter_collector_last_success_timestamp_seconds"
            return value(exporter.metrics(), name, collector="orders") or 0.0

        alive = "kafka_streams_alive"
        wait_for(lambda: value(exporter.metrics(), alive, target="orders") == 1.0, 30)
        bridges = _java_descendants(exporter.process.pid)
        assert len(bridges) == 1, bridges
        for _ in range(5):  # five more successful refreshes, each seen on its own
            seen = last_success()
            wait_for(lambda s=seen: last_success() > s, 30, what="another successful refresh")
            assert _java_descendants(exporter.process.pid) == bridges
        cmdline = b" ".join(_cmdline(bridges[0]))
        assert b"JmxBridge.java" in cmdline and b"s3cret" not in cmdline
        assert "s3cret" not in exporter.log()

"""Collectors in processes of their own (server.collector_isolation: process): a
collector process killed (SIGKILL) or silent (SIGSTOP) shows as a failed refresh
(collector_up 0, failures counted) while the server and the other collector go on, and is
started again; SIGTERM to the server leaves no collector process behind; `thread` mode still
runs them in the server's process."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.registry import build_collector
from exporter.daemon import process_scheduler
from exporter.daemon.interpreter import GC_THRESHOLDS
from exporter.exposition.store import Snapshot
from tests.support.exporter_process import ExporterProcess, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique

UP = "kafka_health_exporter_collector_up"


def _config(bootstrap: str, topic: str, isolation: str = "process") -> str:
    return f"""
server: {{collector_isolation: {isolation}}}
collectors:
  - name: a
    type: kafka
    bootstrap_servers: "{bootstrap}"
    topics: {{include: ["{topic}"]}}
    interval: 1s
    timeout: 800ms
  - name: b
    type: kafka
    bootstrap_servers: "{bootstrap}"
    topics: {{include: ["{topic}"]}}
    interval: 1s
    timeout: 800ms
"""


def _children(pid: int) -> dict[int, str]:
    """pid -> command line of the processes whose parent is `pid`."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    out[int(entry)] = cmdline.read().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return out


def _collector_processes(pid: int) -> list[int]:
    """The collector processes of server `pid`: children of its fork server."""
    servers = [p for p, cmd in _children(pid).items() if "forkserver" in cmd]
    return sorted(child for server in servers for child in _children(server))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_a_killed_collector_process_fails_alone_and_comes_back(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    topic, group = unique("proc"), unique("proc-g")
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 3})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    with ExporterProcess(_config(broker.bootstrap, topic), tmp_path) as exporter:
        exporter.wait_ready()
        assert exporter.process is not None
        server = exporter.process.pid
        children = wait_for(
            lambda: len(_collector_processes(server)) == 2 and _collector_processes(server), 20
        )
        assert server not in children
        # each collector process tunes its own interpreter as the server does (GC, GIL, malloc)
        tuned = f"gc thresholds {GC_THRESHOLDS}"
        for child in children:
            line = wait_for(
                lambda child=child: next(
                    (
                        line
                        for line in exporter.log().splitlines()
                        if f"collector process {child}, interpreter tuned" in line
                    ),
                    None,
                ),
                10,
                what=f"collector process {child}'s interpreter settings in the log",
            )
            assert tuned in line and "start-up objects frozen" in line, line
        assert "interpreter tuned: switch interval" in exporter.log()

        def failures() -> dict[str, float]:
            m = exporter.metrics()
            return {
                c: value(m, "kafka_health_exporter_collector_failures_total", collector=c) or 0
                for c in ("a", "b")
            }

        m = exporter.metrics()
        assert value(m, UP, collector="a") == 1 and value(m, UP, collector="b") == 1
        before = failures()
        victim = children[0]
        os.kill(victim, signal.SIGKILL)

        def one_down() -> str:
            m = exporter.metrics()
            down = [c for c in ("a", "b") if value(m, UP, collector=c) == 0]
            assert len(down) == 1, down
            return down[0]

        down = wait_for(one_down, 10, what="the killed collector's collector_up 0")
        other = "b" if down == "a" else "a"
        assert value(exporter.metrics(), UP, collector=other) == 1, "the other collector went on"
        assert exporter.get("/live")[0] == 200
        log = exporter.log()
        assert f"collector {down}: its collector process was killed by signal 9" in log, log[-2000:]
        wait_for(lambda: value(exporter.metrics(), UP, collector=down) == 1, 20, what="restart")
        after = _collector_processes(server)
        assert victim not in after and len(after) == 2
        assert failures()[down] >= before[down] + 1
        lag = value(
            exporter.metrics(), "kafka_consumergroup_lag", consumergroup=group, topic=topic,
            partition="0", cluster=down,
        )  # fmt: skip
        assert lag == 2, "the restarted collector reports again"

        exporter.stop()
        wait_for(lambda: not any(_alive(p) for p in after), 10, what="no collector process left")


async def test_a_silent_collector_process_is_stopped_and_started_again(
    broker: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP (a hung interpreter): after interval + timeout + the margin of silence the
    process is killed, a failed snapshot says why, and a new process reports again."""
    monkeypatch.setattr(process_scheduler, "SILENCE_MARGIN", 1.0)
    config = KafkaConfig(
        name="s", type="kafka", bootstrap_servers=[broker.bootstrap], interval=1, timeout=0.8
    )
    snapshots: list[Snapshot] = []

    async def publish(snapshot: Snapshot) -> None:
        snapshots.append(snapshot)

    async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            assert asyncio.get_running_loop().time() < deadline, f"{what}: {snapshots[-3:]}"
            await asyncio.sleep(0.1)

    async with process_scheduler.ProcessScheduler(publish) as scheduler:
        scheduler.start(build_collector(config))
        await until(lambda: any(s.ok for s in snapshots), 20, "a first snapshot")
        children = _collector_processes(os.getpid())
        assert len(children) == 1 and scheduler.process_count() == 1
        os.kill(children[0], signal.SIGSTOP)
        seen = len(snapshots)
        await until(lambda: any(not s.ok for s in snapshots[seen:]), 10, "a failed snapshot")
        failed = next(s for s in snapshots[seen:] if not s.ok)
        assert failed.error is not None
        assert failed.error.startswith("its collector process sent nothing for 3s"), failed.error
        # It owed a refresh from one interval after its last one started until it was given up
        # (silence 2.8 s after its last snapshot): about 1.8 s, never the 0 it reported before.
        assert 1.0 < failed.duration < 3.0, failed.duration
        assert not _alive(children[0]), "the silent process was killed and reaped"
        count = len(snapshots)
        await until(lambda: any(s.ok for s in snapshots[count:]), 20, "the new process")
    assert _collector_processes(os.getpid()) == [], "no collector process outlives the scheduler"


async def test_thread_isolation_runs_collectors_in_the_server_process(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    topic, group = unique("thr"), unique("thr-g")
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 2})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    with ExporterProcess(_config(broker.bootstrap, topic, "thread"), tmp_path) as exporter:
        exporter.wait_ready()
        assert exporter.process is not None
        m = exporter.metrics()
        assert value(m, UP, collector="a") == 1
        assert (
            value(
                m,
                "kafka_consumergroup_lag",
                consumergroup=group,
                topic=topic,
                partition="0",
                cluster="a",
            )
            == 1
        )
        assert _collector_processes(exporter.process.pid) == []

"""CPU and memory per `jmx` refresh against a real Kafka Streams app: a JVM per refresh (before,
jmxquery's JAR as the collector ran it) against the long-lived bridge (after).

Starts a real Kafka 4 broker and the real Streams app from tests/support/streams (Maven-built),
waits for RUNNING, then runs N refreshes each way. Before: CPU and peak RSS of the query JVMs
(getrusage of reaped children). After: CPU of this process plus the bridge JVM (/proc/PID/stat)
per refresh, the bridge's RSS, and the processes started during the refreshes (the bridge's pid
must stay the same). Writes bench/results/<time>-jmx.{json,md}.

    python -m bench.jmx_bridge [--refreshes 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import results_files
from exporter.collectors.jmx import JmxCollector
from exporter.collectors.jmx.bridge import JAVA_OPTIONS
from exporter.collectors.jmx.config import JmxConfig, service_url_for
from exporter.collectors.jmx.streams_beans import STREAMS_QUERIES
from exporter.collectors.jmx.verdict import streams_alive
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import unique
from tests.support.kafka_jars import KAFKA_4
from tests.support.streams_app import StreamsApp
from tests.support.streams_checks import make_topics

TICK = os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


_PEAK = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, capture_output=True, timeout=60)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _peak_rss_mib(command: list[str], runs: int = 3) -> float:
    """Max RSS of `command`, each run in a fresh helper process (so nothing else is counted)."""
    peaks = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PEAK, *command], check=True, capture_output=True, timeout=120
        )
        peaks.append(int(out.stdout) / 1024)
    return max(peaks)


def jmxquery_command(url: str) -> list[str]:
    """The command the collector ran per refresh before the bridge (jmxquery's JAR; the package
    no longer depends on it: `pip install jmxquery` to measure the before)."""
    try:
        from jmxquery import JAR_PATH, JMXQuery
    except ImportError:
        raise SystemExit("the before needs jmxquery: pip install 'jmxquery>=0.6'") from None

    options = [o for o in JAVA_OPTIONS if not o.startswith("-Dsun.rmi")]
    query = "".join(
        JMXQuery(q.object_name, q.attribute, q.key).to_query_string() + ";" for q in STREAMS_QUERIES
    )
    return ["java", *options, "-jar", JAR_PATH, "-url", url, "-json", "-q", query]


def before(url: str, runs: int) -> dict[str, Any]:
    """A JVM per refresh: wall, CPU and peak RSS of the query JVMs."""
    command = jmxquery_command(url)
    subprocess.run(command, check=True, capture_output=True, timeout=60)  # warm the page cache
    walls, cpu = [], _children_cpu()
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        walls.append(time.perf_counter() - started)
    return {
        "wall_ms_median": statistics.median(walls) * 1000,
        "cpu_ms_per_refresh": (_children_cpu() - cpu) / runs * 1000,
        "peak_rss_mib": _peak_rss_mib(command),
        "processes_started_per_refresh": 1,
    }


async def after(port: int, runs: int) -> dict[str, Any]:
    """The bridge: CPU of this process and the bridge per refresh, its RSS, processes started."""
    collector = JmxCollector(JmxConfig(name="bench", type="jmx", port=port, timeout=10.0))
    try:
        assert streams_alive(await collector.fetch())  # starts the bridge
        for _ in range(5):
            await collector.fetch()  # warm the bridge's JIT and the connection
        bridge = collector._bridge.pid
        assert bridge is not None
        kids = _children(os.getpid())
        walls, own, jvm = [], time.process_time(), _proc_cpu(bridge)
        for _ in range(runs):
            started = time.perf_counter()
            assert streams_alive(await collector.fetch())
            walls.append(time.perf_counter() - started)
        own_ms = (time.process_time() - own) / runs * 1000
        jvm_ms = (_proc_cpu(bridge) - jvm) / runs * 1000
        started_procs = len(_children(os.getpid()) - kids)
        return {
            "wall_ms_median": statistics.median(walls) * 1000,
            "cpu_ms_per_refresh": own_ms + jvm_ms,
            "cpu_ms_per_refresh_python": own_ms,
            "cpu_ms_per_refresh_bridge": jvm_ms,
            "bridge_rss_mib": _rss_mib(bridge),
            "bridge_pid_unchanged": collector._bridge.pid == bridge,
            "processes_started_during_refreshes": started_procs,
        }
    finally:
        await collector.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, KafkaCluster(version=KAFKA_4) as kafka:
        topics = make_topics(kafka)
        app = StreamsApp(KAFKA_4, kafka.bootstrap, unique("bench"), topics, Path(tmp) / "app")
        with app:
            app.wait_state("RUNNING")
            url = service_url_for("127.0.0.1", app.port)
            old = before(url, args.refreshes)
            new = asyncio.run(after(app.port, args.refreshes))
    stamp = results_files.stamp()
    result = {
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "kafka": KAFKA_4,
        "refreshes": args.refreshes,
        "queries_per_refresh": len(STREAMS_QUERIES),
        "before_jvm_per_refresh": old,
        "after_bridge": new,
    }
    md = [
        f"# jmx refresh: JVM per refresh vs the long-lived bridge ({stamp})",
        "",
        f"Machine: {result['machine']}; load average at end {result['load_average']}; a real "
        f"Kafka Streams {KAFKA_4} app (1 thread) on a Kafka {KAFKA_4} broker; "
        f"{args.refreshes} refreshes each, {len(STREAMS_QUERIES)} attribute queries per refresh.",
        "",
        "| | wall median ms | CPU ms / refresh | memory MiB | processes started / refresh |",
        "|---|---|---|---|---|",
        f"| before: jmxquery JVM per refresh | {old['wall_ms_median']:.0f} "
        f"| {old['cpu_ms_per_refresh']:.0f} | {old['peak_rss_mib']:.0f} (peak RSS per JVM) | 1 |",
        f"| after: bridge | {new['wall_ms_median']:.1f} | {new['cpu_ms_per_refresh']:.1f} "
        f"(Python {new['cpu_ms_per_refresh_python']:.1f} + bridge "
        f"{new['cpu_ms_per_refresh_bridge']:.1f}) | {new['bridge_rss_mib']:.0f} (bridge RSS, "
        f"resident) | {new['processes_started_during_refreshes'] / args.refreshes:g} "
        f"(bridge pid unchanged: {new['bridge_pid_unchanged']}) |",
        "",
    ]
    results_files.write_results(stamp, "jmx", result, "\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()

"""Wall time, CPU and peak memory of one `jmx` refresh, the query JVM's spawn included.

Starts the fake Kafka Streams JVM from tests/support/java (compiled into a temp dir), then runs N
refreshes through the collector (one jmxquery JVM each) and, for comparison, the same command
with the JVM's default flags, and a bare `java -version` with the tuned flags (the spawn cost a
long-lived JVM would save). Peak memory is the query JVM's max RSS, read with getrusage in a
fresh helper process per measurement (so neither javac nor the fake app is counted).

    python -m bench.jmx_refresh [--refreshes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from exporter.collectors.jmx import JmxCollector
from exporter.collectors.jmx.config import JmxConfig
from exporter.collectors.jmx.query import JAVA_OPTIONS, Endpoint, build_command
from exporter.collectors.jmx.streams_beans import STREAMS_QUERIES
from tests.support.jmx_app import FakeStreamsJvm, compile_fake_app

_PEAK = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, capture_output=True, timeout=60)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib(command: list[str], runs: int = 3) -> float:
    """Max RSS of `command` over `runs` runs, each in a fresh helper process (Linux: KiB)."""
    peaks = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PEAK, *command], check=True, capture_output=True, timeout=120
        )
        peaks.append(int(out.stdout) / 1024)
    return max(peaks)


def _measure_command(command: list[str], runs: int) -> tuple[list[float], float, float]:
    walls, cpu_before = [], _cpu()
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        walls.append(time.perf_counter() - started)
    return walls, (_cpu() - cpu_before) / runs, _peak_rss_mib(command)


async def _refreshes(collector: JmxCollector, runs: int) -> list[float]:
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        reading = await collector.fetch()
        walls.append(time.perf_counter() - started)
        assert reading.alive, reading
    return walls


def _line(label: str, walls: list[float], cpu: float, rss: float) -> str:
    return (
        f"{label:<36} wall median {statistics.median(walls) * 1000:5.0f} ms"
        f" (min {min(walls) * 1000:4.0f}, max {max(walls) * 1000:4.0f})"
        f"  cpu {cpu * 1000:4.0f} ms  peak RSS {rss:5.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        classes = compile_fake_app(Path(tmp) / "classes")
        with FakeStreamsJvm(classes, "string") as jvm:
            config = JmxConfig(name="bench", type="jmx", port=jvm.port, timeout=30.0)
            collector = JmxCollector(config)
            asyncio.run(_refreshes(collector, 1))  # warm the page cache and the CDS archive

            version = ["java", *JAVA_OPTIONS, "-version"]
            v_walls, v_cpu, v_rss = _measure_command(version, args.refreshes)

            cpu_before = _cpu()
            walls = asyncio.run(_refreshes(collector, args.refreshes))
            refresh_cpu = (_cpu() - cpu_before) / args.refreshes
            tuned = build_command(Endpoint(config.url), STREAMS_QUERIES, 30.0)
            rss = _peak_rss_mib(tuned)

            plain = [part for part in tuned if part not in JAVA_OPTIONS]
            d_walls, d_cpu, d_rss = _measure_command(plain, args.refreshes)

    print(f"{args.refreshes} runs each, {len(STREAMS_QUERIES)} attribute queries per refresh")
    print(_line("java -version (tuned flags)", v_walls, v_cpu, v_rss))
    print(_line("refresh via the collector (tuned)", walls, refresh_cpu, rss))
    print(_line("same query, JVM default flags", d_walls, d_cpu, d_rss))


if __name__ == "__main__":
    main()

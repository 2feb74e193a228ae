"""The Python work of a `kafka` refresh after the Kafka read, without a broker.

Builds the cluster state a G x P workload reads (one topic, every group committed on every
partition, watermarks and offsets moving each refresh, or with `--still` none moving), and runs
the collector's own stages on it, refresh after refresh with one collector: the history update
(of which the topic rates), the evaluation of lag seconds and status, `to_metrics`, the rendering
(label blocks and unchanged batches kept) and the page's gzip prefix (unchanged pieces reused).
Reports the median seconds of each stage after two warm-up refreshes.
Writes bench/results/<time>-post-read[-still].{json,md}.

    python -m bench.post_read [--groups 1000] [--partitions 50] [--refreshes 12] [--still]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time

from bench import results_files
from exporter.collectors.kafka.collector import KafkaCollector, KafkaRefresh
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.evaluate.evaluation import evaluate
from exporter.collectors.kafka.history.topic_rates import TopicRates
from exporter.collectors.kafka.state import Broker, ClusterState, GroupInfo, PartitionInfo
from exporter.exposition.gzip_prefix import GzipPrefix
from exporter.exposition.render import KeptBlocks, family_chunks, render_families

STEP_SECONDS = 15.0
"""Seconds between two refreshes (the default interval)."""


def cluster_state(groups: int, partitions: int, step: int, rng: random.Random) -> ClusterState:
    """What refresh `step` reads: watermarks 10 further each refresh, each group up to 500
    behind (offsets above 10^6, as a long-lived topic's)."""
    newest = [1_000_000 + p * 7 + step * 10 for p in range(partitions)]
    topics = {"topic-0": {p: PartitionInfo(0, (0,), (0,), newest[p], 0) for p in range(partitions)}}
    committed = {
        f"group-{g:05d}": GroupInfo(
            1,
            "Stable",
            {("topic-0", p): newest[p] - rng.randint(0, 500) for p in range(partitions)},
        )
        for g in range(groups)
    }
    return ClusterState((Broker(0, "127.0.0.1", 9092),), topics, committed)


def run(groups: int, partitions: int, refreshes: int, still: bool) -> dict[str, list[float]]:
    """Seconds per stage, one list entry per refresh (`still`: the first refresh's offsets and
    watermarks every time)."""
    config = KafkaConfig(name="bench", type="kafka", bootstrap_servers=["127.0.0.1:9092"])
    collector = KafkaCollector(config)
    history, rates = collector.history, TopicRates(config.time_lag.window)
    rng, kept, now = random.Random(1), KeptBlocks(), time.time()
    stages: dict[str, list[float]] = {
        "topic_rates": [],
        "history_update": [],
        "evaluate": [],
        "to_metrics": [],
        "render": [],
        "gzip": [],
    }
    gzipped: GzipPrefix | None = None
    for step in range(refreshes):
        if still:
            rng = random.Random(1)
        state = cluster_state(groups, partitions, 0 if still else step, rng)
        at = now + step * STEP_SECONDS
        t0 = time.perf_counter()
        rates.update(state, at)  # the same work History.update does, timed alone
        t1 = time.perf_counter()
        history.update(state, at)
        t2 = time.perf_counter()
        evaluation = evaluate(history, state, at, config.time_lag)
        t3 = time.perf_counter()
        families = collector.to_metrics(KafkaRefresh(state, evaluation))
        t4 = time.perf_counter()
        rendered = render_families(families, kept)
        t5 = time.perf_counter()
        gzipped = GzipPrefix(family_chunks([rendered]), reuse=gzipped)
        t6 = time.perf_counter()
        for name, seconds in zip(
            stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True
        ):
            stages[name].append(seconds)
    return stages


def main() -> None:
    """Run and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=50)
    parser.add_argument("--refreshes", type=int, default=12)
    parser.add_argument("--still", action="store_true", help="no offset or watermark moves")
    args = parser.parse_args()
    stages = run(args.groups, args.partitions, args.refreshes, args.still)
    medians = {name: statistics.median(values[2:] or values) for name, values in stages.items()}
    total = sum(v for k, v in medians.items() if k != "topic_rates")  # rates: part of history
    result = {
        "groups": args.groups,
        "partitions": args.partitions,
        "lag_series": args.groups * args.partitions,
        "refreshes": args.refreshes,
        "still": args.still,
        "median_s": medians,
        "total_s": total,
        "python": platform.python_version(),
    }
    stamp = results_files.stamp()
    rows = "".join(f"| {name} | {seconds:.4f} |\n" for name, seconds in medians.items())
    table = (
        f"# after the Kafka read, no broker ({stamp})\n\n"
        f"{args.groups} groups x {args.partitions} partitions ({result['lag_series']} lag series), "
        f"{'none' if args.still else 'every'} offset and watermark moving, "
        f"{args.refreshes} refreshes, median of those after the first two, Python "
        f"{result['python']}. `topic_rates` is part of `history_update`, timed alone too.\n\n"
        "| stage | median s |\n|---|---|\n"
        f"{rows}| total (without the topic_rates line) | {total:.4f} |\n"
    )
    kind = "post-read-still" if args.still else "post-read"
    results_files.write_results(stamp, kind, result, table)
    print(table)


if __name__ == "__main__":
    main()

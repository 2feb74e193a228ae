"""Does an exporter report the right lag? Its per-partition lag series, read from one scrape,
against the workload's truth (log end offset minus the committed offset).

The workload's odd groups commit below the log end (a real lag); its even groups commit above it
(a committed offset the log does not have yet), whose "right" lag is a convention: those values
are reported apart, not judged.
"""

from __future__ import annotations

import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.workload import RECORDS_PER_PARTITION, Workload


@dataclass(frozen=True)
class LagSeries:
    """How one exporter names its per-partition consumer-group lag."""

    metric: str
    group: str
    topic: str
    partition: str


KNOWN = (
    LagSeries("kafka_consumergroup_lag", "consumergroup", "topic", "partition"),
    LagSeries(
        "kminion_kafka_consumer_group_topic_partition_lag", "group_id", "topic_name", "partition_id"
    ),
)
"""kafka_exporter and ours; kminion."""


def lag_by_partition(text: str) -> dict[tuple[str, str, int], float]:
    """(group, topic, partition) -> lag from an exposition page, whichever known names it uses."""
    found: dict[tuple[str, str, int], float] = {}
    names = {series.metric: series for series in KNOWN}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series = names.get(sample.name)
            if series is None or series.partition not in sample.labels:
                continue
            labels = sample.labels
            key = (labels[series.group], labels[series.topic], int(labels[series.partition]))
            found[key] = sample.value
    return found


def judge(found: dict[tuple[str, str, int], float], workload: Workload) -> dict[str, Any]:
    """Counts of right, wrong and missing lag series of the workload's odd groups, and what
    the even groups (committed above the log end) were reported as."""
    right = wrong = missing = 0
    examples: list[str] = []
    above_end: Counter[str] = Counter()
    for index, group in enumerate(workload.group_names()):
        topic = workload.topic_of(index)
        for partition in range(workload.partitions):
            truth = RECORDS_PER_PARTITION - workload.committed(index, partition)
            value = found.get((group, topic, partition))
            if index % 2 == 0:
                above_end["absent" if value is None else f"{value:g}"] += 1
            elif value is None:
                missing += 1
            elif value == truth:
                right += 1
            else:
                wrong += 1
                if len(examples) < 5:
                    examples.append(f"{group}/{topic}/{partition}: {value:g}, truth {truth}")
    return {
        "right": right,
        "wrong": wrong,
        "missing": missing,
        "wrong_examples": examples,
        "committed_above_log_end_reported_as": dict(above_end.most_common(3)),
    }


def check_lag(url: str, workload: Workload, timeout: float = 300.0) -> dict[str, Any]:
    """One scrape of `url`, judged against `workload`."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    return judge(lag_by_partition(text), workload)

"""The end-to-end probe's buckets (kminion's `createHistogramBuckets`), histogram snapshots and
families as the exposition renders them: kminion's names, `cluster` and constant labels."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from exporter.collectors.kafka.probe import metrics
from exporter.collectors.kafka.probe.stats import Histogram, ProbeStats, latency_buckets
from exporter.exposition.render import join_families, render_families


def test_buckets_are_kminions() -> None:
    # kminion: ExponentialBuckets(0.005, 2, Logb(ms / 10) + 3)
    assert latency_buckets(5.0) == tuple(0.005 * 2**i for i in range(11))
    assert latency_buckets(5.0)[-1] == 5.12
    assert len(latency_buckets(1.0)) == 9  # Logb(100) = 6
    assert len(latency_buckets(0.05)) == 5  # Logb(5) = 2
    assert len(latency_buckets(0.001)) == 3  # under 10 ms: 5, 10, 20 ms


def test_histogram_snapshot_is_cumulative() -> None:
    hist = Histogram((0.01, 0.1, 1.0))
    for seconds in (0.005, 0.01, 0.05, 0.5, 7.0):
        hist.observe(seconds)
    snap = hist.snapshot()
    assert snap.buckets == ((0.01, 2), (0.1, 3), (1.0, 4), (math.inf, 5))
    assert snap.count == 5 and math.isclose(snap.sum, 7.565)


def test_families_in_kminions_names() -> None:
    stats = ProbeStats(1.0)
    stats.partition(0)
    stats.partition(1)
    stats.produced[0] += 3
    stats.received[0] += 2
    stats.produced_failed[1] += 1
    stats.observe(stats.roundtrip_latency, 0, 0.003)
    stats.observe(stats.roundtrip_latency, 0, 0.03)
    stats.commits[2] += 1
    stats.observe(stats.commit_latency, 2, 0.02)
    stats.commits_failed[(2, "timeout")] += 1
    families = metrics.to_metrics(stats.snapshot({0: 1, 1: 0}), "c1", {"env": "prod"})
    text = join_families([render_families(families)]).decode()
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(parsed) == {s.name for s in metrics.CATALOGUE}  # the parser drops `_total`
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in parsed.values()
        for s in f.samples
    }
    p0 = (("cluster", "c1"), ("env", "prod"), ("partition_id", "0"))
    p1 = (("cluster", "c1"), ("env", "prod"), ("partition_id", "1"))
    assert samples[("kminion_end_to_end_messages_produced_total", p0)] == 3
    assert samples[("kminion_end_to_end_messages_received_total", p0)] == 2
    assert samples[("kminion_end_to_end_messages_produced_failed_total", p1)] == 1
    assert samples[("kminion_end_to_end_messages_lost_total", p1)] == 0
    assert samples[("kminion_end_to_end_messages_produced_in_flight", p0)] == 1
    rt = "kminion_end_to_end_roundtrip_latency_seconds"
    assert samples[(f"{rt}_bucket", (*p0[:2], ("le", "0.005"), p0[2]))] == 1
    assert samples[(f"{rt}_bucket", (*p0[:2], ("le", "+Inf"), p0[2]))] == 2
    assert samples[(f"{rt}_count", p0)] == 2
    assert samples[(f"{rt}_count", p1)] == 0  # every partition has its series from the start
    coordinator = (("cluster", "c1"), ("coordinator_id", "2"), ("env", "prod"))
    assert samples[("kminion_end_to_end_offset_commits_total", coordinator)] == 1
    assert samples[("kminion_end_to_end_offset_commit_latency_seconds_count", coordinator)] == 1
    failed = (*coordinator, ("reason", "timeout"))
    assert samples[("kminion_end_to_end_offset_commits_failed_total", failed)] == 1
    # per partition: 4 counters + in-flight + 2 histograms of (9 buckets + Inf + sum + count)
    per_partition = [k for k in samples if ("partition_id", "1") in k[1]]
    assert len(per_partition) == 5 + 2 * (len(latency_buckets(1.0)) + 3)

"""The probe's counts and latency histograms, kept on the event loop and handed to `to_metrics`
as a frozen snapshot (taken in `fetch`, so the conversion thread never reads live state)."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, field


def latency_buckets(max_latency: float) -> tuple[float, ...]:
    """kminion's buckets for a latency SLA: 5 ms doubling, up to just past `max_latency`
    (`createHistogramBuckets`: floor(log2(ms / 10)) + 3 buckets; 5 s gives 5 ms .. 5.12 s)."""
    tenths = int(max_latency * 1000) // 10
    count = (math.floor(math.log2(tenths)) if tenths > 0 else 0) + 3
    return tuple(0.005 * 2**i for i in range(count))


@dataclass(frozen=True)
class HistogramSnapshot:
    """Cumulative counts per bucket bound (`+Inf` last), the sum and the count."""

    buckets: tuple[tuple[float, int], ...]
    sum: float
    count: int


class Histogram:
    """One label set's observations, in fixed buckets."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def snapshot(self) -> HistogramSnapshot:
        cumulative, total = [], 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            total += count
            cumulative.append((bound, total))
        return HistogramSnapshot(tuple(cumulative), self.sum, total)


@dataclass(frozen=True)
class ProbeSnapshot:
    """Everything the probe's families show, at one moment. Keys are label values: a partition
    id for the message counts and produce / round-trip latency, a coordinator id for commits,
    (coordinator id, reason) for failed commits."""

    produced: dict[int, int] = field(default_factory=dict)
    produced_failed: dict[int, int] = field(default_factory=dict)
    received: dict[int, int] = field(default_factory=dict)
    lost: dict[int, int] = field(default_factory=dict)
    in_flight: dict[int, int] = field(default_factory=dict)
    commits: dict[int, int] = field(default_factory=dict)
    commits_failed: dict[tuple[int, str], int] = field(default_factory=dict)
    produce_latency: dict[int, HistogramSnapshot] = field(default_factory=dict)
    roundtrip_latency: dict[int, HistogramSnapshot] = field(default_factory=dict)
    commit_latency: dict[int, HistogramSnapshot] = field(default_factory=dict)


class ProbeStats:
    """The live counts (event loop only)."""

    def __init__(self, timeout: float) -> None:
        self.bounds = latency_buckets(timeout)
        self.produced: defaultdict[int, int] = defaultdict(int)
        self.produced_failed: defaultdict[int, int] = defaultdict(int)
        self.received: defaultdict[int, int] = defaultdict(int)
        self.lost: defaultdict[int, int] = defaultdict(int)
        self.commits: defaultdict[int, int] = defaultdict(int)
        self.commits_failed: defaultdict[tuple[int, str], int] = defaultdict(int)
        self.produce_latency: dict[int, Histogram] = {}
        self.roundtrip_latency: dict[int, Histogram] = {}
        self.commit_latency: dict[int, Histogram] = {}

    def partition(self, partition: int) -> None:
        """Make the series of `partition` appear at zero (before its first record is done)."""
        for counts in (self.produced, self.produced_failed, self.received, self.lost):
            counts[partition] += 0
        for histograms in (self.produce_latency, self.roundtrip_latency):
            histograms.setdefault(partition, Histogram(self.bounds))

    def observe(self, histograms: dict[int, Histogram], key: int, seconds: float) -> None:
        histogram = histograms.get(key)
        if histogram is None:
            histogram = histograms[key] = Histogram(self.bounds)
        histogram.observe(seconds)

    def snapshot(self, in_flight: dict[int, int]) -> ProbeSnapshot:
        def hist(source: dict[int, Histogram]) -> dict[int, HistogramSnapshot]:
            return {k: h.snapshot() for k, h in source.items()}

        return ProbeSnapshot(
            produced=dict(self.produced),
            produced_failed=dict(self.produced_failed),
            received=dict(self.received),
            lost=dict(self.lost),
            in_flight=dict(in_flight),
            commits=dict(self.commits),
            commits_failed=dict(self.commits_failed),
            produce_latency=hist(self.produce_latency),
            roundtrip_latency=hist(self.roundtrip_latency),
            commit_latency=hist(self.commit_latency),
        )

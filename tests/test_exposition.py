"""Our text rendering matches prometheus_client byte for byte; gzip and OpenMetrics are valid."""

from __future__ import annotations

import gzip
import zlib

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from exporter.compression import GzipPrefix
from exporter.rendering import join_families, render_families


class _Static:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families


def _families() -> list[Metric]:
    lag = GaugeMetricFamily(
        "kafka_consumergroup_lag", "Lag with \\ and\nnewline.", labels=["group", "topic"]
    )
    lag.add_metric(['we"ird\\group\nname', "t"], 12)
    lag.add_metric(["g", "t"], 0)
    lag.add_metric(["inf", "t"], float("inf"))
    lag.add_metric(["big", "t"], 1.5e17)
    failures = CounterMetricFamily("x_failures", "Failures.", labels=["collector"])
    failures.add_metric(["a"], 3)
    plain = GaugeMetricFamily("x_plain", "No labels.", value=-0.25)
    return [lag, failures, plain]


def test_rendering_is_identical_to_generate_latest() -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(_families()))  # type: ignore[arg-type]
    ours = join_families([render_families(_families())])
    assert ours == generate_latest(registry)


def test_families_of_several_collectors_merge_under_one_header() -> None:
    a = GaugeMetricFamily("kafka_brokers", "Brokers.", labels=["cluster"])
    a.add_metric(["a"], 1)
    b = GaugeMetricFamily("kafka_brokers", "Brokers.", labels=["cluster"])
    b.add_metric(["b"], 3)
    text = join_families([render_families([a]), render_families([b])]).decode()
    assert text.count("# TYPE kafka_brokers gauge") == 1
    parsed = {
        s.labels["cluster"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }
    assert parsed == {"a": 1, "b": 3}


def test_gzip_prefix_with_tail_is_one_valid_member() -> None:
    body = join_families([render_families(_families())]) * 200
    prefix = GzipPrefix(body)
    for tail in (b"", b"x 1\n", b"y" * 100_000):
        blob = prefix.with_tail(tail)
        assert gzip.decompress(blob) == body + tail
        decompressor = zlib.decompressobj(wbits=31)
        assert decompressor.decompress(blob) == body + tail
        assert decompressor.eof and decompressor.unused_data == b""


def test_openmetrics_output_parses() -> None:
    from prometheus_client.openmetrics.exposition import generate_latest as generate_om

    text = generate_om(_Static(_families())).decode()  # type: ignore[arg-type]
    names = {f.name for f in parse_om(text)}
    assert {"kafka_consumergroup_lag", "x_failures", "x_plain"} <= names
    assert text.endswith("# EOF\n")

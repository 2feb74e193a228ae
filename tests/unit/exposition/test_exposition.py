"""Our text rendering matches prometheus_client byte for byte; gzip and OpenMetrics are valid."""

from __future__ import annotations

import gzip
import zlib

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from exporter.exposition.gzip_prefix import GzipPrefix
from exporter.exposition.render import join_families, render_families


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


def _row_families() -> list[Metric]:
    """Our row-stored families: odd label values, constant labels, every kind of value."""
    from exporter.collectors.families import MetricSpec, build_families

    const = {"env": 'pr"od{1}', "a_first": "x\\y"}
    lag = MetricSpec(
        "kafka_consumergroup_lag",
        "gauge",
        'Lag "quoted" \\ and\nnewline.',
        (
            "cluster",
            "consumergroup",
            "topic",
            "partition",
        ),
    ).family(const)
    values = [0, 1, 999_999, 1_000_000, 123_456_789, -5, -(10**15) + 1, 2**60, 0.25, 1e-7]
    values += [float("inf"), float("-inf"), 1.5e17, True]
    for i, v in enumerate(values):
        group = ['we"ird\\group\nname', "g", "ünï", "{brace}", ""][i % 5]
        lag.add(["c", group, "t", str(i)], v)
    failures = MetricSpec("x_failures", "counter", "Failures.", ("collector",)).family()
    failures.add(["a"], 3)
    failures.add(["b"], 0.5)
    plain = MetricSpec("x_plain", "gauge", "No labels.").family()
    plain.add([], -0.25)
    only_const = MetricSpec("x_const", "gauge", "Only constant labels.").family({"env": "p"})
    only_const.add([], 7)
    empty = MetricSpec("x_empty", "gauge", "Never filled.").family()
    return build_families([lag, failures, plain, only_const, empty])


def test_row_families_render_identically_to_generate_latest() -> None:
    families = _row_families()
    assert [f.name for f in families] == [
        "kafka_consumergroup_lag",
        "x_failures",
        "x_plain",
        "x_const",
    ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(families))  # type: ignore[arg-type]
    ours = join_families([render_families(families)])
    assert ours == generate_latest(registry)
    # and it parses back to exactly the samples the families hold
    parsed = {f.name: f.samples for f in text_string_to_metric_families(ours.decode())}
    for family in families:
        expected = [(s.name, s.labels, s.value) for s in family.samples]
        got = [(s.name, s.labels, s.value) for s in parsed[family.name]]
        assert len(got) == len(expected)
        for (name, labels, value), (g_name, g_labels, g_value) in zip(expected, got, strict=True):
            assert (g_name, g_labels) == (name, labels)
            assert g_value == float(value)


def test_openmetrics_rendering_is_identical_to_prometheus_client() -> None:
    from prometheus_client import PlatformCollector, ProcessCollector
    from prometheus_client.openmetrics.exposition import generate_latest as generate_om

    process = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=process)
    PlatformCollector(registry=process)
    families = [*_row_families(), *process.collect()]
    ours = join_families([render_families(families)], openmetrics=True) + b"# EOF\n"
    assert ours == generate_om(_Static(families))  # type: ignore[arg-type]
    text = join_families([render_families(families)])
    assert text == generate_latest(_Static(families))  # type: ignore[arg-type]
    assert {f.name for f in parse_om(ours.decode())} >= {"kafka_consumergroup_lag", "x_failures"}


def test_timestamps_and_created_samples_follow_each_format() -> None:
    from prometheus_client.openmetrics.exposition import generate_latest as generate_om

    counter = CounterMetricFamily("jobs", "Jobs.", labels=["k"], created=1700000000.5)
    counter.add_metric(["v"], 2, created=1700000001.25, timestamp=1700000002.5)
    gauge = GaugeMetricFamily("temp", "Temp.", labels=["k"])
    gauge.add_metric(["v"], 1.5, timestamp=1700000003)
    families: list[Metric] = [counter, gauge]
    assert join_families([render_families(families)]) == generate_latest(_Static(families))  # type: ignore[arg-type]
    om = join_families([render_families(families)], openmetrics=True) + b"# EOF\n"
    assert om == generate_om(_Static(families))  # type: ignore[arg-type]


async def test_chunks_body_streams_the_exact_page() -> None:
    """A page of shared chunks served by a real aiohttp server: same bytes, right length."""
    import aiohttp
    from aiohttp import web

    from exporter.cli.demo.processes import free_port
    from exporter.exposition.body import SLICE, ChunksBody

    chunks = [b"a" * (SLICE * 3 + 17), b"", b"tail 1\n", bytes(range(256)) * 5000]

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=ChunksBody(chunks), headers={"Content-Type": "text/plain"})

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/") as r,
        ):
            body = await r.read()
            assert r.headers["Content-Length"] == str(len(b"".join(chunks)))
        assert body == b"".join(chunks)
        assert ChunksBody(chunks).decode("latin-1") == b"".join(chunks).decode("latin-1")
    finally:
        await runner.cleanup()


def test_chunks_body_writes_small_chunks_joined_and_large_ones_as_views() -> None:
    from exporter.exposition.body import SLICE, _slices

    small = [bytes([i % 251]) * 100_000 for i in range(30)]  # a family's batches
    chunks = [b"# HELP x\n", *small, b"b" * (2 * SLICE + 5), b"", b"tail 1\n"]
    whole = b"".join(chunks)
    for limit in (len(whole), len(whole) - 3, SLICE + 1, 0):
        pieces = list(_slices(chunks, limit))
        assert b"".join(pieces) == whole[:limit]
        assert all(0 < len(p) <= SLICE for p in pieces)
    pieces = list(_slices(chunks, len(whole)))
    assert len(pieces) == -(-len(whole) // SLICE)  # as few writes as slices of the page
    assert any(isinstance(p, memoryview) for p in pieces)  # the large chunk is not copied


def test_accept_encoding_q_values() -> None:
    from exporter.web.routes import accepts_gzip

    assert accepts_gzip("gzip")
    assert accepts_gzip("identity, gzip;q=0.5")
    assert accepts_gzip("GZIP; q=0.8")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("gzip; q=0.0")
    assert not accepts_gzip("deflate, br")
    assert not accepts_gzip("")

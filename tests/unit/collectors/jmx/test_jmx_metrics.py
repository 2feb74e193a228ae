"""Unit tests of the jmx collector's metrics: every series and its labels from one reading."""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.jmx.metrics import to_metrics
from exporter.collectors.jmx.state import ClientState, StreamsReading
from tests.support.jmx_inputs import parse_jmx_config


def _samples(families: list[Metric]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in families
        for s in family.samples
    }


def test_to_metrics_labels_every_series_with_target() -> None:
    config = parse_jmx_config(
        "collectors:\n  - {name: orders, type: jmx, port: 1, labels: {team: core}, beans: ["
        "{object_name: 'k:type=c', attribute: lag, name: orders_lag_max},"
        "{object_name: 'k:type=d', attribute: gone, name: orders_gone}]}\n"
    )
    reading = StreamsReading(
        count=57.0, clients=(ClientState("app-1", "REBALANCING", 3),), beans={"orders_lag_max": 4.0}
    )
    samples = _samples(to_metrics(reading, "orders", config.labels, config.beans))
    base = {("target", "orders"), ("team", "core")}
    assert samples[("kafka_streams_kafka_metrics_count_count", frozenset(base))] == 57.0
    assert samples[("kafka_streams_alive", frozenset(base))] == 1.0
    threads = frozenset(base | {("client_id", "app-1")})
    assert samples[("kafka_streams_alive_stream_threads", threads)] == 3
    states = {
        dict(labels)["state"]: value
        for (name, labels), value in samples.items()
        if name == "kafka_streams_state"
    }
    assert states["REBALANCING"] == 1.0 and states["RUNNING"] == 0.0 and states["unknown"] == 0.0
    assert sum(states.values()) == 1.0
    assert samples[("orders_lag_max", frozenset(base))] == 4.0
    assert not any(name == "orders_gone" for name, _ in samples)

    gone = _samples(to_metrics(StreamsReading(count=None), "orders", {}, ()))
    assert gone == {("kafka_streams_alive", frozenset({("target", "orders")})): 0.0}
    unknown = _samples(to_metrics(StreamsReading(None, (ClientState("c", None, 1),)), "t", {}, ()))
    assert (
        unknown[
            (
                "kafka_streams_state",
                frozenset({("target", "t"), ("client_id", "c"), ("state", "unknown")}),
            )
        ]
        == 1.0
    )

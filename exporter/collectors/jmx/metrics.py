"""Catalogue of the `jmx` collector's metrics and the pure conversion from a StreamsReading.

Every series carries `target` (the collector name) and the collector's constant labels.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import Metric

from exporter.collectors.families import FamilyBuilder, MetricSpec, build_families
from exporter.collectors.jmx.config import BeanGauge
from exporter.collectors.jmx.state import STATES, UNKNOWN, StreamsReading
from exporter.collectors.jmx.verdict import streams_alive

METRICS_COUNT = MetricSpec(
    "kafka_streams_kafka_metrics_count_count",
    "gauge",
    "kafka.streams:type=kafka-metrics-count count: the number of metrics the Kafka Streams"
    " client registered; absent once the client died or was closed (its MBeans are unregistered).",
    ("target",),
)
ALIVE = MetricSpec(
    "kafka_streams_alive",
    "gauge",
    "1 when every Kafka Streams client is RUNNING or REBALANCING (else: alive threads > 0, else"
    " count > 1); 0 when not, or when JMX answers without Kafka Streams MBeans.",
    ("target",),
)
STATE = MetricSpec(
    "kafka_streams_state",
    "gauge",
    "1 for the current state of the Kafka Streams client, 0 for the others (unknown when the"
    " state enum cannot be read remotely).",
    ("target", "client_id", "state"),
)
ALIVE_THREADS = MetricSpec(
    "kafka_streams_alive_stream_threads",
    "gauge",
    "alive-stream-threads of the Kafka Streams client.",
    ("target", "client_id"),
)

CATALOGUE: tuple[MetricSpec, ...] = (METRICS_COUNT, ALIVE, STATE, ALIVE_THREADS)


def bean_spec(bean: BeanGauge) -> MetricSpec:
    """The gauge of one configured extra bean."""
    text = f"{bean.object_name} {bean.attribute}" + (f" {bean.key}" if bean.key else "")
    return MetricSpec(bean.name, "gauge", bean.help or f"JMX attribute {text}.", ("target",))


def to_metrics(
    reading: StreamsReading,
    target: str,
    const_labels: dict[str, str],
    beans: Sequence[BeanGauge] = (),
) -> list[Metric]:
    """Metric families for one refresh."""
    count = METRICS_COUNT.family(const_labels)
    alive = ALIVE.family(const_labels)
    state = STATE.family(const_labels)
    threads = ALIVE_THREADS.family(const_labels)
    extras: list[FamilyBuilder] = []

    if reading.count is not None:
        count.add([target], reading.count)
    alive.add([target], 1.0 if streams_alive(reading) else 0.0)
    for client in reading.clients:
        state.add_state((target, client.client_id), (*STATES, UNKNOWN), client.state or UNKNOWN)
        if client.alive_threads is not None:
            threads.add([target, client.client_id], client.alive_threads)
    for bean in beans:
        family = bean_spec(bean).family(const_labels)
        value = reading.beans.get(bean.name)
        if value is not None:
            family.add([target], value)
        extras.append(family)
    return build_families([count, alive, state, threads, *extras])

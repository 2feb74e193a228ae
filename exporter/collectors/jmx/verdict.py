"""The verdict on a Kafka Streams app from one `StreamsReading`: alive, and healthy or not.

A client is alive while its state is RUNNING or REBALANCING; without a readable state, while it
has alive stream threads; without those either, while its `kafka-metrics-count` is above 1. A
client closed by a dying stream thread (SHUTDOWN_CLIENT) or by close() unregisters every
kafka.streams bean, the count included, before its state reaches ERROR / NOT_RUNNING: the state
seen last, if any, is PENDING_ERROR (4.x) or 0 alive threads (3.x); then the beans are gone,
which counts as death once they were seen in that JVM. A young JVM (uptime within
`unreachable_grace`) without Streams beans yet, or with clients still CREATED, is starting.
"""

from __future__ import annotations

from exporter.collectors.base import Health
from exporter.collectors.jmx.state import UNKNOWN, ClientState, StreamsReading

ALIVE_STATES = frozenset({"RUNNING", "REBALANCING"})


def client_alive(client: ClientState, count: float | None) -> bool | None:
    """True/False when the beans tell, None when they do not (a null state is not death)."""
    if client.state is not None:
        return client.state in ALIVE_STATES
    if client.alive_threads is not None:
        return client.alive_threads > 0
    if count is not None:
        return count > 1.0
    return None


def streams_alive(reading: StreamsReading) -> bool:
    """The `kafka_streams_alive` verdict: every client alive; False when the beans are gone."""
    if not reading.present:
        return False
    if not reading.clients:
        return reading.count is not None and reading.count > 1.0
    return all(client_alive(client, reading.count) is not False for client in reading.clients)


def streams_health(reading: StreamsReading) -> Health:
    """Healthy while alive, or while a young JVM (uptime within the grace) has no Streams beans
    yet or only clients still CREATED."""
    if reading.present:
        if streams_alive(reading):
            return Health(True, _describe(reading))
        if reading.since_start < reading.grace and _only_created(reading):
            return Health(True, "starting: " + _describe(reading))
        return Health(False, "Kafka Streams not alive: " + _describe(reading))
    if reading.seen_before:
        return Health(False, "JMX answers but the Kafka Streams MBeans are gone (client closed)")
    if reading.since_start >= reading.grace:
        return Health(
            False,
            f"JMX answers but no Kafka Streams MBeans {reading.since_start:.0f}s after the JVM"
            " started",
        )
    return Health(True, "JMX answers; no Kafka Streams MBeans yet (starting)")


def describe_client(client: ClientState) -> str:
    """Short text for health reasons."""
    parts = [f"state {client.state or UNKNOWN}"]
    if client.alive_threads is not None:
        parts.append(f"{client.alive_threads} alive stream thread(s)")
    if client.failed_threads:
        parts.append(f"{client.failed_threads:g} failed")
    return f"client {client.client_id}: " + ", ".join(parts)


def _only_created(reading: StreamsReading) -> bool:
    """Every client that is not alive is still CREATED (built, not started yet)."""
    down = [c for c in reading.clients if client_alive(c, reading.count) is False]
    return bool(down) and all(c.state == "CREATED" for c in down)


def _describe(reading: StreamsReading) -> str:
    if reading.clients:
        return "; ".join(describe_client(client) for client in reading.clients)
    return f"kafka-metrics-count {reading.count:g} (no stream-metrics beans: pre-2.5 client)"

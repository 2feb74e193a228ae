"""The Kafka Streams MBeans: which attributes a refresh asks for, and what their readings say.

Reading rules, from Kafka's JmxReporter, ClientMetrics and KafkaStreams, checked against real
3.9.2 and 4.4.0 apps (tests/e2e/test_jmx_streams_e2e.py):
- `kafka.streams:type=kafka-metrics-count` `count` (every client version has it) counts the
  client's metrics: about 150 while a real app runs. Only a pre-2.5 client (no stream-metrics
  beans) is judged by it (alive while above 1.0);
- KIP-444 clients have `kafka.streams:type=stream-metrics,client-id=C` with `state` (a String in
  4.x, the KafkaStreams.State enum in 3.x, which a remote client reads as null),
  `alive-stream-threads` and `failed-stream-threads`; 4.x adds the numeric `client-state` (the
  enum's ordinal) on a bean that also has `process-id` and `application-id` keys;
- `java.lang:type=Runtime` `StartTime` and `Uptime` tell which JVM answered (`JvmStart`).

`interpret` is pure: it builds a `StreamsReading` from the JAR's readings plus two facts the
collector keeps (whether Streams beans were ever seen, and how long since the JVM started).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from exporter.collectors.jmx.object_names import canonical_name, parse_object_name
from exporter.collectors.jmx.query import Query, Reading
from exporter.collectors.jmx.state import STATES, ClientState, JvmStart, StreamsReading
from exporter.collectors.values import as_number

COUNT_BEAN = "kafka.streams:type=kafka-metrics-count"
CLIENT_BEANS = "kafka.streams:type=stream-metrics,*"
RUNTIME_BEAN = "java.lang:type=Runtime"
STREAMS_QUERIES: tuple[Query, ...] = (
    Query(RUNTIME_BEAN, "StartTime"),
    Query(RUNTIME_BEAN, "Uptime"),
    Query(COUNT_BEAN, "count"),
    Query(CLIENT_BEANS, "state"),
    Query(CLIENT_BEANS, "client-state"),
    Query(CLIENT_BEANS, "alive-stream-threads"),
    Query(CLIENT_BEANS, "failed-stream-threads"),
)
"""Named attributes only (a whole bean includes the multi-line `topology-description`, which
the JAR prints as invalid JSON) and the count bean by its exact name (`*:type=...` would also
match the embedded consumers' and producers' beans)."""


def _number(value: object) -> float | None:
    """A JMX attribute as a number; a boolean attribute counts as 1.0 / 0.0."""
    return as_number(value, bool_is_number=True)


def _state_name(state: object, client_state: object) -> str | None:
    if isinstance(state, str) and state:
        return state
    ordinal = _number(client_state)
    if ordinal is not None and ordinal.is_integer() and 0 <= ordinal < len(STATES):
        return STATES[int(ordinal)]
    return None


def jvm_start_of(readings: Iterable[Reading]) -> JvmStart:
    """StartTime and Uptime of `java.lang:type=Runtime`, when they were read."""
    values = {r.attribute: _number(r.value) for r in readings if r.object_name == RUNTIME_BEAN}
    uptime = values.get("Uptime")
    return JvmStart(values.get("StartTime"), None if uptime is None else uptime / 1000)


def interpret(
    readings: Iterable[Reading],
    beans: Sequence[tuple[str, Query]] = (),
    *,
    seen_before: bool = False,
    since_start: float = 0.0,
    grace: float = 0.0,
) -> StreamsReading:
    """A StreamsReading from the JAR's readings; `beans` pairs extra metric names with queries."""
    count: float | None = None
    attrs: dict[str, dict[str, object]] = {}
    by_name: dict[tuple[str, str, str | None], object] = {}
    for reading in readings:
        domain, props = parse_object_name(reading.object_name)
        where = (canonical_name(reading.object_name), reading.attribute, reading.key)
        by_name[where] = reading.value
        if domain != "kafka.streams":
            continue
        if props == {"type": "kafka-metrics-count"} and reading.attribute == "count":
            count = _number(reading.value)
        elif props.get("type") == "stream-metrics" and "client-id" in props:
            slot = attrs.setdefault(props["client-id"], {})
            if reading.value is not None or reading.attribute not in slot:
                slot[reading.attribute] = reading.value
    clients = []
    for client_id, values in sorted(attrs.items()):
        threads = _number(values.get("alive-stream-threads"))
        clients.append(
            ClientState(
                client_id=client_id,
                state=_state_name(values.get("state"), values.get("client-state")),
                alive_threads=None if threads is None else int(threads),
                failed_threads=_number(values.get("failed-stream-threads")),
            )
        )
    extra = {
        name: _number(by_name.get((canonical_name(q.object_name), q.attribute, q.key)))
        for name, q in beans
    }
    return StreamsReading(
        count=count,
        clients=tuple(clients),
        beans=extra,
        seen_before=seen_before,
        since_start=since_start,
        grace=grace,
    )

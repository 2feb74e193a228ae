"""What one JMX refresh says about a Kafka Streams app, and the verdict alive / dead / unknown.

Pure: built from the JAR's readings plus two facts the collector keeps (whether Streams beans
were ever seen, and how long since it started). Reading rules, from Kafka's JmxReporter,
ClientMetrics and KafkaStreams, checked against real 3.9.2 and 4.4.0 apps
(tests/test_jmx_streams_e2e.py):
- `kafka.streams:type=kafka-metrics-count` `count` (every client version has it) counts the
  client's metrics: about 150 while a real app runs. Only a pre-2.5 client (no stream-metrics
  beans) is judged by it (alive while above 1.0);
- KIP-444 clients have `kafka.streams:type=stream-metrics,client-id=C` with `state` (a String in
  4.x, the KafkaStreams.State enum in 3.x, which a remote client reads as null),
  `alive-stream-threads` and `failed-stream-threads`; 4.x adds the numeric `client-state` (the
  enum's ordinal) on a bean that also has `process-id` and `application-id` keys;
- a client closed by a dying stream thread (SHUTDOWN_CLIENT) or by close() unregisters every
  kafka.streams bean, the count included, before its state reaches ERROR / NOT_RUNNING: the
  state seen last, if any, is PENDING_ERROR (4.x) or 0 alive threads (3.x); then the beans are
  gone, which counts as death once they were seen in that JVM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from exporter.collectors.base import Health
from exporter.collectors.jmx.query import Query, Reading

COUNT_BEAN = "kafka.streams:type=kafka-metrics-count"
CLIENT_BEANS = "kafka.streams:type=stream-metrics,*"
STATES = (
    "CREATED",
    "REBALANCING",
    "RUNNING",
    "PENDING_SHUTDOWN",
    "NOT_RUNNING",
    "PENDING_ERROR",
    "ERROR",
)
"""KafkaStreams.State in ordinal order (the value of `client-state`)."""
ALIVE_STATES = frozenset({"RUNNING", "REBALANCING"})
UNKNOWN = "unknown"

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


def parse_object_name(name: str) -> tuple[str, dict[str, str]]:
    """Domain and key properties of an object name; quoted values are unquoted."""
    domain, _, rest = name.partition(":")
    props: dict[str, str] = {}
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq]
        j = eq + 1
        if j < len(rest) and rest[j] == '"':
            value, j = _unquote(rest, j + 1)
        else:
            end = rest.find(",", j)
            end = len(rest) if end < 0 else end
            value, j = rest[j:end], end
        props[key] = value
        i = j + 1  # skip the comma
    return domain, props


def _unquote(text: str, i: int) -> tuple[str, int]:
    out = []
    escapes = {"n": "\n", "\\": "\\", '"': '"', "*": "*", "?": "?"}
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def canonical_name(name: str) -> str:
    """Object name with its keys sorted, to match configured names against reported ones."""
    domain, props = parse_object_name(name)
    return domain + ":" + ",".join(f"{k}={v}" for k, v in sorted(props.items()))


@dataclass(frozen=True)
class ClientState:
    """One KafkaStreams client (one `client-id`) as its stream-metrics beans describe it."""

    client_id: str
    state: str | None = None
    """The state name when readable (from `state`, else `client-state`); None = unknown."""
    alive_threads: int | None = None
    failed_threads: float | None = None

    def alive(self, count: float | None) -> bool | None:
        """True/False when the beans tell, None when they do not (a null state is not death)."""
        if self.state is not None:
            return self.state in ALIVE_STATES
        if self.alive_threads is not None:
            return self.alive_threads > 0
        if count is not None:
            return count > 1.0
        return None

    def describe(self) -> str:
        """Short text for health reasons."""
        parts = [f"state {self.state or UNKNOWN}"]
        if self.alive_threads is not None:
            parts.append(f"{self.alive_threads} alive stream thread(s)")
        if self.failed_threads:
            parts.append(f"{self.failed_threads:g} failed")
        return f"client {self.client_id}: " + ", ".join(parts)


@dataclass(frozen=True)
class StreamsReading:
    """Everything one refresh read, plus what the collector remembers."""

    count: float | None
    """`kafka-metrics-count` `count`, None when the bean is absent."""
    clients: tuple[ClientState, ...] = ()
    beans: Mapping[str, float | None] = field(default_factory=dict)
    """Extra gauges by metric name; None when absent or not numeric."""
    seen_before: bool = False
    """Streams beans were present in an earlier refresh."""
    since_start: float = 0.0
    """Seconds since the JVM started (its Uptime; else since the collector started)."""
    grace: float = 0.0
    """`unreachable_grace`: how long a JVM without Streams beans counts as still starting."""

    @property
    def present(self) -> bool:
        """Any Kafka Streams bean answered."""
        return self.count is not None or bool(self.clients)

    @property
    def alive(self) -> bool:
        """The `kafka_streams_alive` verdict: every client alive; False when the beans are gone."""
        if not self.present:
            return False
        if not self.clients:
            return self.count is not None and self.count > 1.0
        return all(client.alive(self.count) is not False for client in self.clients)

    def health(self) -> Health:
        """Healthy while alive, or while a young JVM (uptime within the grace) has no Streams beans
        yet or only clients still CREATED."""
        if self.present:
            if self.alive:
                return Health(True, self._describe())
            if self.since_start < self.grace and self._only_created():
                return Health(True, "starting: " + self._describe())
            return Health(False, "Kafka Streams not alive: " + self._describe())
        if self.seen_before:
            return Health(
                False, "JMX answers but the Kafka Streams MBeans are gone (client closed)"
            )
        if self.since_start >= self.grace:
            return Health(
                False,
                f"JMX answers but no Kafka Streams MBeans {self.since_start:.0f}s after the JVM"
                " started",
            )
        return Health(True, "JMX answers; no Kafka Streams MBeans yet (starting)")

    def _only_created(self) -> bool:
        """Every client that is not alive is still CREATED (built, not started yet)."""
        down = [c for c in self.clients if c.alive(self.count) is False]
        return bool(down) and all(c.state == "CREATED" for c in down)

    def _describe(self) -> str:
        if self.clients:
            return "; ".join(client.describe() for client in self.clients)
        return f"kafka-metrics-count {self.count:g} (no stream-metrics beans: pre-2.5 client)"


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _state_name(state: object, client_state: object) -> str | None:
    if isinstance(state, str) and state:
        return state
    ordinal = _number(client_state)
    if ordinal is not None and ordinal.is_integer() and 0 <= ordinal < len(STATES):
        return STATES[int(ordinal)]
    return None


@dataclass(frozen=True)
class JvmRuntime:
    """Which JVM answered: its start time identifies it across app restarts."""

    start_ms: float | None
    uptime_s: float | None


def runtime_of(readings: Iterable[Reading]) -> JvmRuntime:
    """StartTime and Uptime of `java.lang:type=Runtime`, when they were read."""
    values = {r.attribute: _number(r.value) for r in readings if r.object_name == RUNTIME_BEAN}
    uptime = values.get("Uptime")
    return JvmRuntime(values.get("StartTime"), None if uptime is None else uptime / 1000)


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

"""What one JMX refresh read about a Kafka Streams app: plain data, no client objects. What it
means (alive, healthy) is `verdict`'s to say."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
UNKNOWN = "unknown"
"""The state label of a client whose state cannot be read."""


@dataclass(frozen=True)
class ClientState:
    """One KafkaStreams client (one `client-id`) as its stream-metrics beans describe it."""

    client_id: str
    state: str | None = None
    """The state name when readable (from `state`, else `client-state`); None = unknown."""
    alive_threads: int | None = None
    failed_threads: float | None = None


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


@dataclass(frozen=True)
class JvmStart:
    """When the JVM that answered started: `start_ms` tells a restarted app's new JVM from the
    old one, `uptime_s` how long ago it started."""

    start_ms: float | None
    uptime_s: float | None

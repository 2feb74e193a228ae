"""The `jmx` collector: one refresh = one request to its long-lived bridge JVM, judged for /health.

Meant as a sidecar: the app container's livenessProbe points at `/health?collector=NAME`, so a
Streams app whose threads died (while its JVM keeps running) gets restarted by the kubelet.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from prometheus_client.core import Metric

from exporter.collectors.base import Collector, Health
from exporter.collectors.jmx.bridge import JmxBridge
from exporter.collectors.jmx.config import JmxConfig
from exporter.collectors.jmx.metrics import CATALOGUE, to_metrics
from exporter.collectors.jmx.query import Endpoint, JmxError, Query
from exporter.collectors.jmx.state import StreamsReading
from exporter.collectors.jmx.streams_beans import STREAMS_QUERIES, interpret, jvm_start_of
from exporter.collectors.jmx.verdict import streams_health
from exporter.schema.durations import format_duration


class JmxCollector(Collector[JmxConfig, StreamsReading]):
    """Reads the Kafka Streams MBeans (and configured extra beans) of one JVM."""

    config_model = JmxConfig
    catalogue = CATALOGUE

    def __init__(self, config: JmxConfig) -> None:
        super().__init__(config)
        self._endpoint = Endpoint(config.url, config.username, config.password)
        self._beans = tuple(
            (b.name, Query(b.object_name, b.attribute, b.key)) for b in config.beans
        )
        self._queries = (*STREAMS_QUERIES, *(query for _, query in self._beans))
        self._started = time.monotonic()
        self._jvm_start: float | None = None
        self._seen_streams = False
        self._bridge = JmxBridge()

    async def fetch(self) -> StreamsReading:
        """Every query on the bridge's open connection; JmxError when JMX does not answer.

        Streams beans missing count as death once they were seen in this same JVM, or once the
        JVM is older than `unreachable_grace`: a restarted app (new JVM start time) gets the
        grace again while it builds its KafkaStreams client.
        """
        readings = await self._bridge.query(self._endpoint, self._queries, self.config.timeout)
        jvm = jvm_start_of(readings)
        if jvm.start_ms != self._jvm_start:
            self._jvm_start, self._seen_streams = jvm.start_ms, False
        since_start = jvm.uptime_s
        if since_start is None:
            since_start = time.monotonic() - self._started
        reading = interpret(
            readings,
            self._beans,
            seen_before=self._seen_streams,
            since_start=since_start,
            grace=self.config.unreachable_grace,
        )
        self._seen_streams = self._seen_streams or reading.present
        return reading

    async def close(self) -> None:
        """Stop the bridge JVM."""
        await self._bridge.close()

    def to_metrics(self, fetched: StreamsReading) -> Sequence[Metric]:
        """Metric families with the `target` label."""
        return to_metrics(fetched, self.name, self.config.labels, self.config.beans)

    def health(self, fetched: StreamsReading) -> Health:
        """Unhealthy when JMX answers and the app is not alive (or its beans are gone)."""
        return streams_health(fetched)

    def health_when_failing(self, failing_for: float, stale: bool, error: str) -> Health:
        """JMX not answering is unhealthy only after `unreachable_grace` (a JVM may be starting)."""
        grace = format_duration(self.config.unreachable_grace)
        if failing_for >= self.config.unreachable_grace:
            return Health(
                False, f"JMX not answering for {failing_for:.0f}s (grace {grace}): {error}"
            )
        return Health(
            True, f"JMX not answering for {failing_for:.0f}s, within the grace of {grace}: {error}"
        )

    def describe_error(self, exc: BaseException) -> str:
        """JMX errors already name the cause; keep them short."""
        if isinstance(exc, JmxError):
            return f"JMX {self.config.url}: {exc}"
        return super().describe_error(exc)

"""`probe --jmx`: read one JVM's Kafka Streams MBeans directly, without a daemon."""

from __future__ import annotations

from exporter.cli.probe_result import ProbeResult
from exporter.collectors.jmx.bridge import run_queries
from exporter.collectors.jmx.config import service_url_for
from exporter.collectors.jmx.query import Endpoint, JmxError
from exporter.collectors.jmx.streams_beans import STREAMS_QUERIES, interpret
from exporter.collectors.jmx.verdict import streams_health
from exporter.schema.addresses import split_host_port


def jmx_url(target: str) -> str:
    """A JMX service URL from `HOST:PORT` or a full `service:jmx:...` URL; ValueError otherwise."""
    if target.startswith("service:jmx:"):
        return target
    try:
        host, port = split_host_port(target)
    except ValueError:
        raise ValueError(f"expected HOST:PORT or service:jmx:... URL, got {target!r}") from None
    return service_url_for(host, port)


async def probe_jmx(
    target: str, timeout: float, username: str | None = None, password: str | None = None
) -> ProbeResult:
    """Read one JVM's Kafka Streams MBeans: healthy when they are there and alive."""
    url = jmx_url(target)
    try:
        readings = await run_queries(Endpoint(url, username, password), STREAMS_QUERIES, timeout)
    except JmxError as exc:
        return ProbeResult(False, (f"unhealthy: JMX {url}: {exc}",))
    reading = interpret(readings)
    if not reading.present:
        return ProbeResult(
            False,
            (
                f"unhealthy: JMX {url} answers but has no Kafka Streams MBeans"
                " (the client was closed, or has not started yet)",
            ),
        )
    health = streams_health(reading)
    verdict = "healthy" if health.healthy else "unhealthy"
    return ProbeResult(health.healthy, (f"{verdict}: JMX {url}: {health.reason}",))

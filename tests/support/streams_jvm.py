"""How the real Kafka Streams test app (tests/support/streams) is built and reached.

`streams_classpath(version)` builds the app once per Kafka version into `.cache/streams-<version>/`
(again when a source is newer than the jar); `jmx_flags(port)` are the remote JMX flags of
examples/streams-sidecar.yaml; `query_jmx` is one batched read with the exporter's own query code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from exporter.collectors.jmx.bridge import run_queries
from exporter.collectors.jmx.config import service_url_for
from exporter.collectors.jmx.query import Endpoint, Query, Reading
from tests.support.maven_build import maven_classpath

MAIN_CLASS = "khe.streams.StreamsApp"
HEAP = "-Xmx256m"


def jmx_flags(port: int) -> list[str]:
    """Remote JMX on 127.0.0.1:`port`, one port for the registry and the server, no auth: the
    flags of examples/streams-sidecar.yaml and README's sidecar snippet."""
    return [
        f"-Dcom.sun.management.jmxremote.port={port}",
        f"-Dcom.sun.management.jmxremote.rmi.port={port}",
        "-Dcom.sun.management.jmxremote.host=127.0.0.1",
        "-Djava.rmi.server.hostname=127.0.0.1",
        "-Dcom.sun.management.jmxremote.authenticate=false",
        "-Dcom.sun.management.jmxremote.ssl=false",
        "-Dcom.sun.management.jmxremote.local.only=false",
    ]


def streams_classpath(version: str) -> str:
    """The app's classpath for Kafka `version`, built with Maven when missing or stale."""
    return maven_classpath("streams", version, "streams-app.jar", f"kafka-streams-{version}.jar")


def query_jmx(port: int, queries: Sequence[Query], timeout: float = 10.0) -> list[Reading]:
    """One batched read with the exporter's own query code; raises JmxError."""
    endpoint = Endpoint(service_url_for("127.0.0.1", port))
    return asyncio.run(run_queries(endpoint, queries, timeout))

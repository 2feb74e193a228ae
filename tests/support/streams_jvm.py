"""How the real Kafka Streams test app (tests/support/streams) is built and reached.

`streams_classpath(version)` builds the app once per Kafka version into `.cache/streams-<version>/`
(skipped when the jar is there); `jmx_flags(port)` are the remote JMX flags of
examples/streams-sidecar.yaml; `query_jmx` is one batched read with the exporter's own query code.
"""

from __future__ import annotations

import asyncio
import fcntl
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from exporter.collectors.jmx.config import service_url_for
from exporter.collectors.jmx.query import Endpoint, Query, Reading, run_queries

ROOT = Path(__file__).resolve().parents[2]
POM = ROOT / "tests" / "support" / "streams" / "pom.xml"
CACHE = ROOT / ".cache"
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
    """The app's classpath for Kafka `version`, building it with Maven on first use."""
    base = CACHE / f"streams-{version}"
    jar = base / "target" / "streams-app.jar"
    libs = base / "libs"
    CACHE.mkdir(exist_ok=True)
    with (CACHE / f"streams-{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions build once
        if not jar.exists() or not any(libs.glob(f"kafka-streams-{version}.jar")):
            mvn = shutil.which("mvn")
            assert mvn, "mvn is needed to build tests/support/streams (the real Kafka Streams app)"
            done = subprocess.run(
                [mvn, "-q", "-B", "-f", str(POM), f"-Dkafka.version={version}",
                 "package", "dependency:copy-dependencies"],
                capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            assert done.returncode == 0 and jar.exists(), (
                f"mvn could not build the Streams app for Kafka {version}:"
                f" {done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
    return f"{jar}:{libs}/*"


def query_jmx(port: int, queries: Sequence[Query], timeout: float = 10.0) -> list[Reading]:
    """One batched read with the exporter's own query code; raises JmxError."""
    endpoint = Endpoint(service_url_for("127.0.0.1", port))
    return asyncio.run(run_queries(endpoint, queries, timeout))

"""A real Kafka Streams app (tests/support/streams, built with Maven per Kafka version) for the jmx
collector's end-to-end tests.

`streams_classpath(version)` builds the app once per version into `.cache/streams-<version>/`
(skipped when the jar is there); `StreamsApp` starts it with remote JMX on a free 127.0.0.1
port (the flags of examples/streams-sidecar.yaml), waits until JMX answers, drives it through
its stdin (`close`) and signals (SIGKILL, SIGSTOP/SIGCONT), and always stops and reaps it.

`python -m tests.support.streams_app [VERSION ...]` records what each version exposes over JMX, healthy
and after each kind of death (the facts in README's jmx section).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from exporter.cli.demo.broker import free_port
from exporter.cli.demo.processes import stop_process
from exporter.collectors.jmx.config import service_url_for
from exporter.collectors.jmx.query import Endpoint, JmxError, Query, Reading, run_queries

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


class StreamsApp:
    """One JVM running tests/support/streams' StreamsApp. A context manager; `stop()` always leaves no
    process behind (SIGCONT, SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        version: str,
        bootstrap: str,
        application_id: str,
        topics: tuple[str, str],
        workdir: Path,
        *,
        handler: str = "default",
        threads: int = 1,
        poison: str = "throw",
        port: int | None = None,
    ) -> None:
        self.version = version
        self.port = port or free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        state_dir = Path(tempfile.mkdtemp(prefix="state-", dir=workdir))
        self.log_path = workdir / f"streams-{self.port}.log"
        self.args = [
            "java", HEAP, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "-XX:-UsePerfData", *jmx_flags(self.port),
            "-cp", streams_classpath(version), MAIN_CLASS,
            "--bootstrap", bootstrap, "--application-id", application_id,
            "--input", topics[0], "--output", topics[1], "--state-dir", str(state_dir),
            "--handler", handler, "--threads", str(threads), "--poison", poison,
        ]  # fmt: skip
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._seen: list[str] = []
        self._pump_thread: threading.Thread | None = None

    @property
    def host_port(self) -> str:
        """`127.0.0.1:PORT` of its JMX."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """The JVM has not exited (it may be stopped by SIGSTOP)."""
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> StreamsApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> StreamsApp:
        """Start the JVM; return once it said STARTED and its JMX answers."""
        assert self.process is None, "start() once per StreamsApp"
        self.process = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        try:
            log = self.log_path.open("a")
            self._pump_thread = threading.Thread(target=self._pump, args=(log,), daemon=True)
            self._pump_thread.start()
            deadline = time.monotonic() + timeout
            self.expect("STARTED", timeout)
            self._wait_jmx(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _pump(self, log: IO[str]) -> None:
        assert self.process is not None and self.process.stdout is not None
        with log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                self._lines.put(line.rstrip("\n"))

    def _wait_jmx(self, deadline: float) -> None:
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if not self.running:
                break
            try:
                query_jmx(self.port, [Query("java.lang:type=Runtime", "Uptime")], 5.0)
                return
            except JmxError as exc:
                last = exc
                time.sleep(0.3)
        raise AssertionError(f"JMX of the Streams app never answered: {last}; {self.tail()}")

    def expect(self, wanted: str | Callable[[str], bool], timeout: float = 60.0) -> str:
        """Wait for an output line starting with `wanted` (or matching it); returns the line."""
        match = wanted if callable(wanted) else (lambda line: line.startswith(str(wanted)))
        for line in self._seen:
            if match(line):
                self._seen.remove(line)
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                if not self.running and self._lines.empty():
                    break
                continue
            if match(line):
                return line
            self._seen.append(line)
        raise AssertionError(f"Streams app did not print {wanted!r} in {timeout}s; {self.tail()}")

    def wait_state(self, state: str, timeout: float = 60.0) -> None:
        """Wait for the state listener's `STATE x -> state` line."""
        self.expect(
            lambda line: line.startswith("STATE ") and line.endswith(f"-> {state}"), timeout
        )

    def send(self, command: str) -> None:
        """Write one command line (`close`, `state`) to its stdin."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def close_streams(self, timeout: float = 60.0) -> str:
        """`KafkaStreams.close()` in the running JVM; the JVM stays up. Returns its OK line."""
        self.send("close")
        return self.expect("OK close", timeout)

    def signal(self, signum: int) -> None:
        """Send `signum` to the JVM if it runs."""
        if self.running:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def pause(self) -> None:
        """SIGSTOP: the JVM keeps its sockets but answers nothing (a hung JVM)."""
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause()`."""
        self.signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL (a crash, an OOM kill) and reap it."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(20)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGCONT (in case it is paused), SIGTERM, SIGKILL after `timeout`; always reaps."""
        if self.process is None:
            return
        self.signal(signal.SIGCONT)
        try:
            stop_process(self.process, timeout)
        finally:
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            if self._pump_thread is not None:
                self._pump_thread.join(5)

    def tail(self, chars: int = 3000) -> str:
        """The end of what the JVM printed."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"log {self.log_path}: ...{text[-chars:]}"


# --- Recording what a version exposes (python -m tests.support.streams_app [VERSION ...]) -------------

INVENTORY: tuple[Query, ...] = (
    Query("kafka.streams:type=kafka-metrics-count", "count"),
    *(
        Query("kafka.streams:type=stream-metrics,*", attribute)
        for attribute in (
            "state",
            "client-state",
            "alive-stream-threads",
            "failed-stream-threads",
            "version",
            "application-id",
        )
    ),
    Query("kafka.streams:type=stream-thread-metrics,*", "thread-state"),
    Query("kafka.streams:type=stream-thread-metrics,*", "poll-total"),
    Query("kafka.consumer:type=consumer-metrics,*", "connection-count"),
)


def inventory(port: int) -> list[dict[str, object]] | str:
    """Every Streams attribute of INVENTORY the JVM answers, or the error text."""
    try:
        readings = query_jmx(port, INVENTORY, 10.0)
    except JmxError as exc:
        return f"JMX error: {exc}"
    return [
        {"bean": r.object_name, "attr": r.attribute, "type": r.type, "value": r.value}
        for r in readings
    ]


def _record(version: str) -> None:
    from tests.support.kafka_cluster import KafkaCluster
    from tests.support.kafka_helpers import create_topics, unique

    def show(what: str, port: int) -> None:
        print(f"--- {version}: {what}", flush=True)
        found = inventory(port)
        print(json.dumps(found, indent=1) if isinstance(found, list) else found, flush=True)

    def produce(bootstrap: str, topic: str, value: str) -> None:
        from aiokafka import AIOKafkaProducer

        async def send() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            await producer.start()
            try:
                await producer.send_and_wait(topic, value.encode(), key=b"k")
            finally:
                await producer.stop()

        asyncio.run(send())

    def watch(app: StreamsApp, what: str, seconds: float) -> None:
        """Poll the inventory a few times after a death, to see the transient states."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            show(what, app.port)
            time.sleep(0.5)

    with KafkaCluster(version=version) as cluster, tempfile.TemporaryDirectory() as tmp:
        topics = (unique("in"), unique("out"))
        asyncio.run(create_topics(cluster.bootstrap, {topics[0]: 2, topics[1]: 2}))
        work = Path(tmp)
        for handler in ("default", "REPLACE_THREAD"):
            app_id = unique(f"record-{handler.lower()}")
            with StreamsApp(version, cluster.bootstrap, app_id, topics, work, handler=handler,
                            threads=2) as app:  # fmt: skip
                app.wait_state("RUNNING")
                show(f"{handler}: RUNNING", app.port)
                produce(cluster.bootstrap, topics[0], f"poison-{handler}")
                watch(app, f"{handler}: after poison", 8)
                if handler == "default":
                    continue
                app.close_streams()
                show("close(): after close", app.port)
        with StreamsApp(version, cluster.bootstrap, unique("record-stop"), topics, work) as app:
            app.wait_state("RUNNING")
            app.pause()
            show("SIGSTOP", app.port)
            app.resume()
            app.kill()
            show("SIGKILL", app.port)


if __name__ == "__main__":
    for wanted in sys.argv[1:] or ["4.4.0", "3.9.2"]:
        _record(wanted)

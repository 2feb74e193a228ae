"""A real Kafka Streams app (tests/support/streams, built with Maven per Kafka version) for the jmx
collector's end-to-end tests.

`StreamsApp` starts it (classpath and JMX flags from tests/support/streams_jvm.py) with remote
JMX on a free 127.0.0.1 port, waits until JMX answers, drives it through its stdin (`close`) and
signals (SIGKILL, SIGSTOP/SIGCONT), and always stops and reaps it.

`python -m tests.support.streams_inventory [VERSION ...]` records what each version exposes over
JMX, healthy and after each kind of death (the facts in README's jmx section).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from exporter.cli.demo.processes import free_port, stop_process
from exporter.collectors.jmx.query import JmxError, Query
from tests.support.streams_jvm import HEAP, MAIN_CLASS, jmx_flags, query_jmx, streams_classpath


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
        group_protocol: str | None = None,
    ) -> None:
        """`group_protocol` "streams" joins a KIP-1071 streams group (Kafka 4.2+), "classic" the
        old protocol; None leaves group.protocol unset (the client's default, classic)."""
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
            *(["--group-protocol", group_protocol] if group_protocol else []),
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

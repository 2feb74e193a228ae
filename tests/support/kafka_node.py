"""One Apache Kafka KRaft node (combined broker+controller) as a JVM on 127.0.0.1.

A `KafkaNode` knows its ports, its directory (server.properties, data, the JVM's log) and its
process: it starts `kafka.Kafka server.properties` (storage formatted beforehand by the
cluster), signals it (SIGSTOP/SIGCONT), stops it (SIGTERM, then SIGKILL) or kills it.
`Listener` describes an extra client listener the cluster gives every node.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from exporter.cli.demo.processes import free_port, stop_process
from tests.support.kafka_jars import java_command


def distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports on 127.0.0.1: every socket stays bound until all are chosen
    (one `free_port()` after another may hand out the same port twice)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


@dataclass
class Listener:
    """An extra client listener: its name, security protocol and listener-scoped properties."""

    name: str
    protocol: str
    properties: dict[str, str] = field(default_factory=dict)
    """`listener.name.<name>.` is prefixed to each key."""


@dataclass
class KafkaNode:
    """One combined broker+controller KRaft node."""

    node_id: int
    version: str
    directory: Path
    broker_port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    extra_ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    jvm: tuple[str, ...] = ()

    @property
    def bootstrap(self) -> str:
        """`127.0.0.1:port` of the PLAINTEXT listener."""
        return f"127.0.0.1:{self.broker_port}"

    @property
    def properties_path(self) -> Path:
        """This node's server.properties."""
        return self.directory / "server.properties"

    @property
    def log_path(self) -> Path:
        """What the JVM printed."""
        return self.directory / "kafka.log"

    @property
    def running(self) -> bool:
        """Whether the JVM is alive (it may be SIGSTOPped)."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> KafkaNode:
        """Start the JVM (storage must be formatted); returns without waiting for readiness."""
        if self.running:
            return self
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                java_command(
                    self.version, "kafka.Kafka", str(self.properties_path), jvm=self.jvm
                ),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        return self

    def signal(self, signum: int) -> None:
        """Send `signum` to the JVM if it runs (SIGSTOP hangs it, SIGCONT resumes it)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 20.0) -> None:
        """A controlled shutdown (SIGTERM), SIGKILL when it takes longer than `timeout`."""
        if self.process is not None:
            self.signal(signal.SIGCONT)
            stop_process(self.process, timeout)
            self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the node's log, for error messages."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

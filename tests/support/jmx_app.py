"""A real JVM that looks like a Kafka Streams app over JMX (tests/support/java/FakeStreamsApp.java).

Compiled with javac into a temp dir at test time; started with remote JMX on a free 127.0.0.1
port (no auth, or password auth with files generated in tmp, mode 600); flipped between running
and dead through its stdin.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exporter.cli.demo.processes import free_port

JAVA_SOURCE = Path(__file__).resolve().parent / "java" / "FakeStreamsApp.java"
MODES = ("string", "enum", "removed", "old")


def compile_fake_app(dest: Path) -> Path:
    """javac the fake app into `dest`; returns the classpath directory."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["javac", "-d", str(dest), str(JAVA_SOURCE)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dest


class FakeStreamsJvm:
    """One FakeStreamsApp JVM. Use as a context manager; `stop()` always leaves no process."""

    def __init__(
        self,
        classes: Path,
        mode: str = "string",
        *,
        tmp_path: Path | None = None,
        credentials: tuple[str, str] | None = None,
        client_id: str = "orders-app-7f1c2d3e",
        threads: int = 2,
        late: bool = False,
        port: int | None = None,
    ) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.port = port or free_port()
        self.credentials = credentials
        flags = [
            f"-Dcom.sun.management.jmxremote.port={self.port}",
            f"-Dcom.sun.management.jmxremote.rmi.port={self.port}",
            "-Dcom.sun.management.jmxremote.ssl=false",
            "-Djava.rmi.server.hostname=127.0.0.1",
        ]
        if credentials is None:
            flags.append("-Dcom.sun.management.jmxremote.authenticate=false")
        else:
            assert tmp_path is not None, "password auth needs tmp_path for its files"
            password_file, access_file = write_auth_files(tmp_path, *credentials)
            flags += [
                "-Dcom.sun.management.jmxremote.authenticate=true",
                f"-Dcom.sun.management.jmxremote.password.file={password_file}",
                f"-Dcom.sun.management.jmxremote.access.file={access_file}",
            ]
        self.args = [
            "java", "-XX:-UsePerfData", "-XX:+UseSerialGC", "-Xmx64m", *flags,
            "-cp", str(classes), "FakeStreamsApp", mode, client_id, str(threads),
            *(["late"] if late else []),
        ]  # fmt: skip
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()

    @property
    def host_port(self) -> str:
        """`127.0.0.1:PORT`."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the JVM."""
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> FakeStreamsJvm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> FakeStreamsJvm:
        """Start the JVM and wait until its beans are registered."""
        self.process = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        try:
            self._expect(f"READY {self.mode}", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _pump(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def _expect(self, wanted: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                if self.process is not None and self.process.poll() is not None:
                    break
                continue
            if line == wanted:
                return
            seen.append(line)
        raise AssertionError(f"fake Streams JVM did not say {wanted!r}; output: {seen[-20:]}")

    def send(self, command: str, timeout: float = 10.0) -> None:
        """Send `dead` or `alive` and wait for the JVM to acknowledge it."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        self._expect(f"OK {command}", timeout)

    def pause(self) -> None:
        """SIGSTOP: the JVM keeps its sockets but answers nothing (a hung JVM)."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause()`."""
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the JVM (a crashed app) and reap it."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """Stop the JVM whatever state it is in."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGCONT)
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def write_auth_files(tmp_path: Path, username: str, password: str) -> tuple[Path, Path]:
    """JMX password and access files (mode 600, as the JVM requires) granting read-only access."""
    password_file = tmp_path / "jmxremote.password"
    access_file = tmp_path / "jmxremote.access"
    for path, text in (
        (password_file, f"{username} {password}\n"),
        (access_file, f"{username} readonly\n"),
    ):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    return password_file, access_file


@pytest.fixture(scope="module")
def jmx_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled fake app (once per test module)."""
    return compile_fake_app(tmp_path_factory.mktemp("fake-streams-classes"))


@pytest.fixture
def start_jvm(jmx_classes: Path, tmp_path: Path) -> Iterator[Callable[..., FakeStreamsJvm]]:
    """A factory `start_jvm(mode, ...)`; every JVM it starts is stopped after the test."""
    started: list[FakeStreamsJvm] = []

    def start(mode: str = "string", **kwargs: object) -> FakeStreamsJvm:
        kwargs.setdefault("tmp_path", tmp_path)
        jvm = FakeStreamsJvm(jmx_classes, mode, **kwargs)  # type: ignore[arg-type]
        started.append(jvm)
        return jvm.start()

    try:
        yield start
    finally:
        for jvm in started:
            jvm.stop()

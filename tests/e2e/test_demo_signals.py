"""The demo as a user runs it: Ctrl-C in a terminal (SIGINT to the whole process group), SIGINT
to the demo alone, SIGTERM, a second signal while it stops, and a busy port. Each ends the demo,
its Tansu broker and every other child, reaped, within 5 s."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.cli.demo.processes import free_port
from tests.support.exporter_process import ROOT

READY = "press Ctrl-C to stop"
STOP_BOUND_S = 5.0


def _children(pid: int) -> set[int]:
    """Every live descendant of `pid`, from /proc (zombies included: they are not reaped)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Demo:
    """`kafka-health-exporter demo` in a session of its own, as a terminal's foreground job."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.output = tmp_path / "demo.log"
        self._log = self.output.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "exporter", "demo", "--listen", f"127.0.0.1:{port}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while READY not in self.text():
            assert self.process.poll() is None, f"demo exited early: {self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"demo not ready: {self.text()[-3000:]}"
            time.sleep(0.2)

    def close(self) -> None:
        """Kill whatever is left (the test failed), then reap."""
        for pid in _children(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self._log.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    started = Demo(tmp_path, free_port())
    try:
        yield started
    finally:
        started.close()


def _send(demo: Demo, how: str) -> None:
    if how == "ctrl-c":  # what a terminal does: SIGINT to the foreground process group
        os.killpg(demo.process.pid, signal.SIGINT)
    else:
        demo.process.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)


@pytest.mark.parametrize("how", ["ctrl-c", "sigint", "sigterm"])
def test_the_demo_stops_with_its_broker_within_5s(demo: Demo, how: str) -> None:
    demo.wait_ready()
    children = _children(demo.process.pid)
    assert children, "the demo runs its broker as a child"
    _send(demo, how)
    try:
        code = demo.process.wait(STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{how}: the demo did not stop within 5 s: {demo.text()[-3000:]}")
    assert code == 0, demo.text()[-3000:]
    left = {pid for pid in children if _alive(pid)}
    assert not left, f"{how}: children left behind (zombies or running): {left}"
    assert "Traceback" not in demo.text()


def test_a_second_signal_forces_the_exit(demo: Demo) -> None:
    demo.wait_ready()
    children = _children(demo.process.pid)
    os.killpg(demo.process.pid, signal.SIGSTOP)  # holds the demo mid-stop for the 2nd signal
    try:
        os.killpg(demo.process.pid, signal.SIGINT)
        os.killpg(demo.process.pid, signal.SIGTERM)
    finally:
        os.killpg(demo.process.pid, signal.SIGCONT)
    try:
        code = demo.process.wait(STOP_BOUND_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the demo did not stop: {demo.text()[-3000:]}")
    assert code == 130, demo.text()[-3000:]  # forced: it did not wait for the clean stop
    assert not {pid for pid in children if _alive(pid)}, "the forced exit left its broker"


def test_a_busy_port_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = Demo(tmp_path, port)
        try:
            code = demo.process.wait(90)
        finally:
            demo.close()
    text = demo.text()
    assert code == 1, text
    assert "Traceback" not in text
    assert f"kafka-health-exporter demo: cannot listen on 127.0.0.1:{port}" in text
    assert "pass --listen HOST:PORT" in text
    assert READY not in text
    broker_port = int(text.split("demo broker: 127.0.0.1:")[1].split()[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", broker_port)) != 0, "its broker was left running"

"""The demo's process helpers (its broker needs a free port and a clean stop); the tests and
the benchmarks reuse them for the servers they start."""

from __future__ import annotations

import socket
import subprocess
from typing import Any


def stop_process(process: subprocess.Popen[Any], timeout: float) -> int:
    """Terminate `process` unless it has exited, wait up to `timeout` seconds, kill it if it is
    still running; its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])

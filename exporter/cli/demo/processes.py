"""Stopping a child process: SIGTERM first, SIGKILL when it does not exit in time."""

from __future__ import annotations

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

"""Another exporter side by side (`--peer 'COMMAND'`): started against the same broker, its
/metrics scraped like ours, its CPU and RSS read from /proc like ours.

The command is split like a shell would (no shell runs it; the measured process is the one
started, so give the binary itself) after `{bootstrap}` and `{port}` are filled in, e.g.

    --peer '/path/kafka_exporter --kafka.server={bootstrap} --web.listen-address=127.0.0.1:{port}'

Leading `NAME=value` words set environment variables, as in a shell, for peers configured
that way (kminion):

    --peer 'KAFKA_BROKERS={bootstrap} EXPORTER_HOST=127.0.0.1 EXPORTER_PORT={port} /path/kminion'

It runs in a session of its own and is stopped with its whole process group (SIGTERM, SIGKILL
after 10 s) however the measurement ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procstat import RssSampler, cpu_seconds
from bench.scrape import scrape_for
from bench.stats import latency_row
from exporter.cli.demo.processes import free_port

IDLE_S = 2.0
"""Seconds of no scrapes before and after the scrape modes (idle RSS and CPU)."""


ENV_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def fill(command: str, bootstrap: str, port: int) -> tuple[dict[str, str], list[str]]:
    """The environment variables (leading `NAME=value` words) and the argv of `command`, with
    `{bootstrap}` and `{port}` filled in."""
    if "{port}" not in command:
        raise ValueError("--peer: the command must contain {port} (where it listens)")
    text = command.replace("{bootstrap}", bootstrap).replace("{port}", str(port))
    words = shlex.split(text)
    env: dict[str, str] = {}
    while words and ENV_WORD.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words:
        raise ValueError("--peer: the command names no program after its NAME=value words")
    return env, words


@dataclass
class PeerProcess:
    """The peer exporter as a subprocess on 127.0.0.1:`port`."""

    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its metrics URL."""
        return f"http://127.0.0.1:{self.port}/metrics"

    def __enter__(self) -> PeerProcess:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **self.env},
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to its process group, SIGKILL after `timeout`; reaped; its exit code."""
        process = self.process
        if process is None:
            return None
        for signum in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
            try:
                return process.wait(timeout)
            except subprocess.TimeoutExpired:
                continue
        return process.wait(timeout)

    def log_tail(self, chars: int = 2000) -> str:
        """The end of what it printed."""
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_ready(self, timeout: float) -> float:
        """Until /metrics answers 200 (its first scrape); seconds of that scrape."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"peer exited with {self.process.returncode}: {self.log_tail()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"peer not serving in {timeout}s: {self.log_tail()}")
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=max(left, 0.1)) as response:
                    response.read()
                    if response.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)


@dataclass
class PeerRun:
    """What one peer measurement needs."""

    command: str
    bootstrap: str
    log_dir: Path
    modes: tuple[tuple[int, bool], ...]
    duration: float
    """Seconds each scrape mode runs (as long as ours)."""
    pause: float = 0.05
    ready_timeout: float = 300.0
    scrape_timeout: float = 300.0
    port: int = field(default_factory=free_port)
    check: Callable[[str], dict[str, Any]] | None = None
    """Called with the peer's metrics URL after its scrapes (e.g. is its lag right?)."""


def _median_between(samples: list[tuple[float, float]], start: float, end: float) -> float:
    values = [mib for t, mib in samples if start <= t <= end]
    return statistics.median(values) if values else float("nan")


def measure_peer(run: PeerRun) -> dict[str, Any]:
    """Scrape latency per mode, CPU (per scrape, and seconds per second under scrapes), RSS
    (idle before and after the scrapes, peak) and page sizes of the peer."""
    env, argv = fill(run.command, run.bootstrap, run.port)
    peer = PeerProcess(argv, run.port, run.log_dir / "peer.log", env)
    with peer:
        first = peer.wait_ready(run.ready_timeout)
        assert peer.process is not None
        pid = peer.process.pid
        with RssSampler(pid) as rss:
            idle_from, idle_cpu = time.time(), cpu_seconds(pid)
            time.sleep(IDLE_S)
            idle_to, busy_cpu = time.time(), cpu_seconds(pid)
            modes: dict[str, Any] = {}
            for scrapers, gzip in run.modes:
                cpu = cpu_seconds(pid)
                started = time.monotonic()
                scrapes = asyncio.run(
                    scrape_for(
                        peer.url,
                        scrapers,
                        gzip,
                        duration=run.duration,
                        pause=run.pause,
                        timeout=run.scrape_timeout,
                    )
                )
                wall, used = time.monotonic() - started, cpu_seconds(pid) - cpu
                statuses = Counter(s.status for s in scrapes)
                modes[f"{scrapers}x {'gzip' if gzip else 'plain'}"] = {
                    **latency_row([s.latency for s in scrapes if s.status == 200]),
                    "statuses": dict(statuses),
                    "bytes": max((s.size for s in scrapes), default=0),
                    "cpu_s_per_scrape": used / max(len(scrapes), 1),
                    "cpu_s_per_s": used / wall if wall else 0.0,
                }
            after, done_cpu = time.time(), cpu_seconds(pid)
            time.sleep(IDLE_S)
            end = time.time()
            samples = list(rss.samples)
            peak = rss.peak_mib()
        checked = run.check(peer.url) if run.check is not None else None
        code = peer.stop()
    return {
        "command": run.command,
        "argv0": os.path.basename(argv[0]),
        "first_scrape_s": first,
        "scrapes": modes,
        "cpu_s_per_s_idle": (busy_cpu - idle_cpu) / max(idle_to - idle_from, 1e-9),
        "cpu_s_scrapes": done_cpu - busy_cpu,
        "rss_mib": {
            "idle_before": _median_between(samples, idle_from, idle_to),
            "idle_after": _median_between(samples, after, end),
            "peak": peak,
        },
        "exit_code": code,
        **({"check": checked} if checked is not None else {}),
    }

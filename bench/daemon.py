"""The real exporter as a subprocess (`python -m exporter run`), and what its debug log says.

With `--log-level debug --log-format json` every refresh logs its time split (fetch, convert,
render, publish, process CPU) and the Kafka requests it sent, by API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.cli.demo.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
SERVER = "server."
"""Prefix of an option that belongs to the config's `server:` section (`--server-option`)."""


@dataclass
class Refresh:
    """One successful refresh as logged by the scheduler (and the reader's request count)."""

    started_at: float
    published_at: float
    timings: dict[str, float]
    requests_total: dict[str, int] = field(default_factory=dict)
    """Kafka requests sent since start, by API, as of this refresh's read."""


@dataclass
class ExporterDaemon:
    """`python -m exporter run` on a free port with one kafka collector."""

    bootstrap: str
    interval: float
    timeout: float
    options: tuple[str, ...] = ()
    """Extra `key: value` YAML lines for the collector entry; `server.key: value` ones go to
    the `server:` section instead."""
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="khe-bench-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The daemon's stderr (JSON lines)."""
        return self.workdir / "exporter.log"

    def __enter__(self) -> ExporterDaemon:
        config = self.workdir / "config.yaml"
        server = [o.removeprefix(SERVER) for o in self.options if o.startswith(SERVER)]
        collector = [o for o in self.options if not o.startswith(SERVER)]
        config.write_text(
            ("server:\n" + "".join(f"  {line}\n" for line in server) if server else "")
            + "collectors:\n"
            f"  - name: bench\n    type: kafka\n    bootstrap_servers: '{self.bootstrap}'\n"
            f"    interval: {self.interval:.3f}\n    timeout: {self.timeout:.3f}\n"
            f"    stale_after: {self.interval * 100:.0f}\n"
            + "".join(f"    {line}\n" for line in collector)
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "exporter",
                    "run",
                    "-c",
                    str(config),
                    "--listen",
                    f"127.0.0.1:{self.port}",
                    "--log-level",
                    "debug",
                    "--log-format",
                    "json",
                ],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """Process id."""
        assert self.process is not None
        return self.process.pid

    def stop(self) -> int | None:
        """SIGTERM, then wait (kill after 10 s); the exit code."""
        return None if self.process is None else stop_process(self.process, 10)

    def wait_ready(self, timeout: float) -> None:
        """Until /ready answers 200; raises with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"exporter exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"exporter not ready in {timeout}s: {self.log_path.read_text()[-3000:]}")

    def refreshes(self) -> list[Refresh]:
        """Every refresh logged so far, in order, with its request counts."""
        out: list[Refresh] = []
        pending: dict[str, Any] | None = None
        for entry in self._log_entries():
            if "requests_total" in entry:
                pending = entry
            elif "timings" in entry:
                out.append(Refresh(entry["started_at"], entry["published_at"], entry["timings"]))
                if pending is not None:
                    out[-1].requests_total = pending["requests_total"]
                    out[-1].timings["read"] = pending.get("read_s", 0.0)
                    pending = None
        return out

    def warnings(self) -> list[str]:
        """Messages logged at warning level or above."""
        return [
            e.get("message", "")
            for e in self._log_entries()
            if e.get("level") in ("warning", "error", "critical")
        ]

    def wait_refreshes(self, count: int, timeout: float) -> list[Refresh]:
        """Until at least `count` refreshes are logged."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.refreshes()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def _log_entries(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line being written right now
        return entries

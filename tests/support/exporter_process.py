"""Run `python -m exporter` as a subprocess and read its endpoints, for end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from exporter.cli.demo.processes import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m exporter ARGS` to completion, in a minimal environment plus `env`."""
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env or {})},
    )


def parse_metrics(text: str) -> Samples:
    """Prometheus text -> {(sample name, labels): value}."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def select(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """Samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return {lbl: v for (n, lbl), v in samples.items() if n == name and want <= lbl}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The single sample of `name` with exactly-matching `labels` subset, or None."""
    found = select(samples, name, **labels)
    if len(found) > 1:
        raise AssertionError(f"{name}{labels} matches {len(found)} series: {found}")
    return next(iter(found.values()), None)


def wait_for(check: Callable[[], T], timeout: float, interval: float = 0.2, what: str = "") -> T:
    """Call `check` until it returns a truthy value or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, OSError, urllib.error.URLError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: {last_error}")


class ExporterProcess:
    """`kafka-health-exporter run` in a subprocess on a free 127.0.0.1 port."""

    def __init__(
        self,
        config: str,
        tmp_path: Path,
        env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.config_path = tmp_path / f"config-{self.port}.yaml"
        self.config_path.write_text(config)
        self.log_path = tmp_path / f"exporter-{self.port}.log"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.args = [
            sys.executable, "-m", "exporter", "run", "-c", str(self.config_path),
            "--listen", f"127.0.0.1:{self.port}", "--log-level", "debug", *(extra_args or []),
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the exporter."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ExporterProcess:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
        )
        wait_for(self._live, 20, what="/live")
        return self

    def _live(self) -> bool:
        """Whether /live answers; a process that exited fails at once, with its log."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"exporter exited with {self.process.returncode}: {self.log()}")
        return self.get("/live")[0] == 200

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM the process and return its exit code (kill after `timeout`)."""
        assert self.process is not None
        code = stop_process(self.process, timeout)
        self._log.close()
        return code

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = 5.0
    ) -> tuple[int, bytes]:
        """GET `path`; returns (status, body) for any HTTP status."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get_json(self, path: str) -> tuple[int, Any]:
        """GET `path` and decode JSON."""
        status, body = self.get(path)
        return status, json.loads(body)

    def metrics(self) -> Samples:
        """Scrape /metrics and parse it."""
        status, body = self.get("/metrics")
        assert status == 200, body
        return parse_metrics(body.decode())

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until /ready answers 200."""
        wait_for(
            lambda: self.get("/ready")[0] == 200, timeout, what=f"/ready; log: {self.log()[-3000:]}"
        )


def post_reload(exporter: ExporterProcess) -> tuple[int, dict[str, Any]]:
    """POST /-/reload; (status, decoded JSON) for any HTTP status."""
    request = urllib.request.Request(exporter.url + "/-/reload", method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())

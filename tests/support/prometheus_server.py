"""A real Prometheus (Debian package `prometheus`) on 127.0.0.1 with a temp storage path, for tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from exporter.cli.demo.processes import free_port, stop_process


class PrometheusServer:
    """`prometheus` scraping `targets`; use as a context manager, it is stopped on exit."""

    def __init__(
        self,
        tmp_path: Path,
        scrape_configs: list[dict[str, Any]],
        scrape_interval: str = "1s",
    ) -> None:
        self.port = free_port()
        self.dir = tmp_path / f"prometheus-{self.port}"
        self.dir.mkdir()
        self.config_path = self.dir / "prometheus.yml"
        config = {
            "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
            "scrape_configs": scrape_configs,
        }
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log_path = self.dir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PrometheusServer:
        exe = shutil.which("prometheus")
        assert exe, "prometheus not found: apt-get install prometheus"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                exe,
                f"--config.file={self.config_path}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            self._wait_ready(30.0)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready after {timeout}s: {self.log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (kill after `timeout`) and close its log."""
        if self.process is not None:
            stop_process(self.process, timeout)
        if hasattr(self, "_log"):
            self._log.close()

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector as [{"metric": {...}, "value": float}]."""
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        assert body["data"]["resultType"] == "vector", body
        return [
            {"metric": item["metric"], "value": float(item["value"][1])}
            for item in body["data"]["result"]
        ]

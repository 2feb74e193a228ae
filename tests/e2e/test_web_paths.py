"""`/healthz` (kafka_exporter's liveness answer, open under basic auth by default), and the
telemetry path (`server.telemetry_path`, overridden by `--web.telemetry-path`), through a real
daemon reading a real Kafka broker; bad paths are refused at start naming the flag or the file,
key and value; a reload that changes the path says a restart is needed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.basic_auth import HASH, PASSWORD, basic
from tests.support.exporter_process import (
    ExporterProcess,
    parse_metrics,
    post_reload,
    run_cli,
    value,
    wait_for,
)
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique


def config_for(broker: KafkaCluster, prefix: str) -> str:
    return f"""
collectors:
  - name: k
    type: kafka
    bootstrap_servers: "{broker.bootstrap}"
    interval: 1s
    timeout: 800ms
    groups: {{include: ["{prefix}.*"]}}
    topics: {{include: ["{prefix}.*"]}}
"""


def test_healthz_answers_ok_like_kafka_exporter(broker: KafkaCluster, tmp_path: Path) -> None:
    with ExporterProcess(config_for(broker, unique("hz")), tmp_path) as exporter:
        status, body = exporter.get("/healthz")
        assert (status, body) == (200, b"ok")
        request_headers = {"Accept": "application/json"}
        status, body = exporter.get("/healthz", headers=request_headers)
        assert (status, body) == (200, b"ok"), "the answer does not depend on Accept"
        status, index = exporter.get("/")
        assert status == 200 and b'href="healthz"' in index and b'href="metrics"' in index


async def test_telemetry_path_moves_the_metrics(broker: KafkaCluster, tmp_path: Path) -> None:
    prefix = unique("tp")
    topic, group = f"{prefix}-t", f"{prefix}-g"
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 3})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    args = ["--web.telemetry-path", "/kafka/metrics"]
    with ExporterProcess(config_for(broker, prefix), tmp_path, extra_args=args) as exporter:

        def lag() -> float | None:
            status, body = exporter.get("/kafka/metrics")
            assert status == 200, body
            samples = parse_metrics(body.decode())
            return value(samples, "kafka_consumergroup_lag", consumergroup=group, topic=topic)

        assert wait_for(lag, 20, what="lag on /kafka/metrics") == 2
        assert exporter.get("/metrics")[0] == 404, "the default path is not served any more"
        for path in ("/live", "/healthz", "/ready", "/health"):
            assert exporter.get(path)[0] == 200, path
        status, index = exporter.get("/")
        assert status == 200 and b'href="kafka/metrics"' in index
        assert b'href="metrics"' not in index
        assert f"127.0.0.1:{exporter.port}/kafka/metrics" in exporter.log()


def test_healthz_behind_basic_auth_is_open_by_default(broker: KafkaCluster, tmp_path: Path) -> None:
    """With basic auth on, /healthz is open by default (the kubelet sends no credentials) and
    closed once `unauthenticated_paths` leaves it out; the telemetry path stays behind auth."""
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    config = config_for(broker, unique("hza"))
    args = ["--web.config.file", str(web), "--web.telemetry-path", "/m"]
    exporter = ExporterProcess(config, tmp_path, extra_args=args)
    with exporter:
        for path in ("/healthz", "/live"):
            assert exporter.get(path)[0] == 200, path
        assert exporter.get("/m")[0] == 401
        status, body = exporter.get("/m", {"Authorization": basic("prometheus", PASSWORD)})
        assert status == 200 and b"kafka_health_exporter_build_info" in body
        exporter.config_path.write_text("server: {unauthenticated_paths: [/live]}\n" + config)
        assert exporter.process is not None
        exporter.process.send_signal(signal.SIGHUP)
        wait_for(lambda: exporter.get("/healthz")[0] == 401, 15, what="/healthz closed")
        assert exporter.get("/live")[0] == 200


async def test_server_telemetry_path_and_the_flag_over_it(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    prefix = unique("stp")
    topic, group = f"{prefix}-t", f"{prefix}-g"
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 4})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    config = "server: {telemetry_path: /kafka/metrics}\n" + config_for(broker, prefix)
    with ExporterProcess(config, tmp_path) as exporter:

        def lag() -> float | None:
            status, body = exporter.get("/kafka/metrics")
            assert status == 200, body
            return value(parse_metrics(body.decode()), "kafka_consumergroup_lag", topic=topic)

        assert wait_for(lag, 20, what="lag on server.telemetry_path") == 3
        assert exporter.get("/metrics")[0] == 404
        status, index = exporter.get("/")
        assert status == 200 and b'href="kafka/metrics"' in index
        assert f"127.0.0.1:{exporter.port}/kafka/metrics" in exporter.log()
    args = ["--web.telemetry-path", "/m"]
    with ExporterProcess(config, tmp_path, extra_args=args) as exporter:
        status, body = exporter.get("/m")
        assert status == 200 and b"kafka_health_exporter_build_info" in body
        assert exporter.get("/kafka/metrics")[0] == 404, "the flag wins over the config"


def test_reload_that_moves_the_telemetry_path_says_restart(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    """The routes are built at start: a reload keeps serving the old path, warns (response and
    log) that a restart applies the new one, and applies the rest; a bad path rejects it."""
    base = config_for(broker, unique("rtp"))
    with ExporterProcess(
        "server: {telemetry_path: /a}\n" + base, tmp_path, extra_args=["--web.enable-lifecycle"]
    ) as exporter:
        exporter.config_path.write_text("server: {telemetry_path: /b}\n" + base)
        status, body = post_reload(exporter)
        warning = "server.telemetry_path changed from '/a' to '/b': restart the exporter to apply"
        assert status == 200 and body["warnings"] == [warning], body
        assert f"config reload: {warning}" in exporter.log()
        assert exporter.get("/a")[0] == 200 and exporter.get("/b")[0] == 404
        exporter.config_path.write_text("server: {telemetry_path: /ready}\n" + base)
        status, body = post_reload(exporter)
        assert status == 400, body
        (error,) = body["errors"]
        assert error.startswith(
            f"{exporter.config_path}: server.telemetry_path: invalid value '/ready': "
            "'/ready' is taken by another endpoint"
        ), error
        assert exporter.get("/a")[0] == 200
    with ExporterProcess(
        "server: {telemetry_path: /a}\n" + base,
        tmp_path,
        extra_args=["--web.telemetry-path", "/m", "--web.enable-lifecycle"],
    ) as exporter:
        exporter.config_path.write_text("server: {telemetry_path: /b}\n" + base)
        status, body = post_reload(exporter)
        assert status == 200 and "warnings" not in body, "the flag decides the path, not the file"
        assert exporter.get("/m")[0] == 200


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("metrics", "invalid value 'metrics': 'metrics' must start with /"),
        ("/healthz", "invalid value '/healthz': '/healthz' is taken by another endpoint"),
        ("/a//b", "invalid value '/a//b': '/a//b': only letters, digits and"),
    ],
)
def test_a_bad_server_telemetry_path_names_file_key_and_value(
    path: str, message: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"server: {{telemetry_path: '{path}'}}\n" + config_for_unreachable())
    for command in (["run", "--listen", "127.0.0.1:1"], ["check-config"]):
        result = run_cli(command[0], "-c", str(config), *command[1:])
        assert result.returncode == 1, result
        assert f"{config}: server.telemetry_path: {message}" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("metrics", "'metrics' must start with /"),
        ("", "'' must start with /"),
        ("/health", "'/health' is taken by another endpoint"),
        ("/healthz", "'/healthz' is taken by another endpoint"),
        ("/live", "'/live' is taken by another endpoint"),
        ("/ready", "'/ready' is taken by another endpoint"),
        ("/", "'/' is taken by another endpoint"),
        ("/-/reload", "'/-/reload' is taken by another endpoint"),
        ("/metrics?x=1", "'/metrics?x=1': a path has no query (?) or fragment (#)"),
        ("/a b", "'/a b': only letters, digits and"),
        ("/a//b", "'/a//b': only letters, digits and"),
    ],
)
def test_a_bad_telemetry_path_is_refused_at_start(path: str, message: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(config_for_unreachable())
    result = run_cli(
        "run", "-c", str(config), "--web.telemetry-path", path, "--listen", "127.0.0.1:1"
    )
    assert result.returncode == 2, result
    assert f"error: argument --web.telemetry-path: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    if "//" in path:
        assert "with no empty segment (//)" in result.stderr


def config_for_unreachable() -> str:
    return 'collectors:\n  - {name: k, type: kafka, bootstrap_servers: "127.0.0.1:1"}\n'

"""`/healthz` (kafka_exporter's liveness answer) and `--web.telemetry-path`, through a real daemon
reading a real Kafka broker; bad paths are refused at start with a message naming the flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.basic_auth import HASH, PASSWORD, basic
from tests.support.exporter_process import ExporterProcess, parse_metrics, run_cli, value, wait_for
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


def test_healthz_behind_basic_auth_is_open_when_listed(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    """With basic auth on, /healthz is open exactly when `unauthenticated_paths` lists it (the
    kubelet sends no credentials); the telemetry path stays behind auth."""
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users:\n  prometheus: '{HASH}'\n")
    config = "server: {unauthenticated_paths: [/live, /ready, /healthz]}\n" + config_for(
        broker, unique("hza")
    )
    args = ["--web.config.file", str(web), "--web.telemetry-path", "/m"]
    exporter = ExporterProcess(config, tmp_path, extra_args=args)
    with exporter:
        assert exporter.get("/healthz") == (200, b"ok")
        assert exporter.get("/m")[0] == 401
        status, body = exporter.get("/m", {"Authorization": basic("prometheus", PASSWORD)})
        assert status == 200 and b"kafka_health_exporter_build_info" in body


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

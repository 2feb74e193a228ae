"""The kafka collector against a real Kafka 4.x with SASL and TLS listeners, through the CLI.

One broker for the module (`tests/support/kafka_security.py`: SASL_PLAINTEXT with PLAIN and SCRAM, SSL,
SSL with client authentication, SASL_SSL, and SSL with a certificate for another name). The
group's offsets are committed over the PLAINTEXT listener; one exporter runs a collector per
working setup and must report the exact lag through each, another runs a collector per broken
setup and must report each failure with a message naming the mechanism or certificate problem.
No password may show in a log line, an error, a health body or a metric. The setups are in
tests/support/kafka_security_cases.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.exporter_process import ExporterProcess, run_cli, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.support.kafka_security import (
    SECRETS,
    WRONG_PASSWORD,
    Certificates,
    make_certificates,
    secure_cluster,
)
from tests.support.kafka_security_cases import (
    BROKEN,
    WORKING,
    assert_no_secret,
    collectors_config,
    sasl,
)


@dataclass(frozen=True)
class Committed:
    """A topic with known watermarks and a group with known commits on it."""

    topic: str
    group: str
    lag: dict[int, int]
    """Expected lag per partition."""


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def cluster(certs: Certificates) -> Iterator[KafkaCluster]:
    with secure_cluster(certs) as started:
        yield started


@pytest.fixture(scope="module")
def committed(cluster: KafkaCluster) -> Committed:
    topic, group = unique("secured"), unique("secured-g")

    async def setup() -> None:
        await create_topics(cluster.bootstrap, {topic: 2})
        await produce(cluster.bootstrap, topic, {0: 5, 1: 3})
        await commit(cluster.bootstrap, group, {(topic, 0): 2, (topic, 1): 3})

    asyncio.run(setup())
    return Committed(topic, group, {0: 3, 1: 0})


@pytest.fixture(scope="module")
def working(
    cluster: KafkaCluster,
    committed: Committed,
    certs: Certificates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ExporterProcess]:
    """One exporter with a collector per working setup, ready (every collector refreshed)."""
    entries = {
        name: {"listener": listener, **settings(certs)}
        for name, (listener, settings) in WORKING.items()
    }
    config = collectors_config(cluster, committed.group, entries)
    with ExporterProcess(config, tmp_path_factory.mktemp("working")) as exporter:
        exporter.wait_ready(30)
        yield exporter


@pytest.fixture(scope="module")
def broken(
    cluster: KafkaCluster,
    committed: Committed,
    certs: Certificates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ExporterProcess]:
    """One exporter with a collector per broken setup, each failed at least twice."""
    entries = {
        name: {"listener": case.listener, **case.settings(certs)} for name, case in BROKEN.items()
    }
    config = collectors_config(cluster, committed.group, entries)
    with ExporterProcess(config, tmp_path_factory.mktemp("broken")) as exporter:

        def all_failed_twice() -> bool:
            m = exporter.metrics()
            return all(
                (value(m, "kafka_health_exporter_collector_failures_total", collector=name) or 0)
                >= 2
                for name in BROKEN
            )

        wait_for(all_failed_twice, 30, what=f"every broken collector failing: {exporter.log()}")
        yield exporter


@pytest.mark.parametrize("name", list(WORKING))
def test_exact_lag_through_secured_listener(
    working: ExporterProcess, committed: Committed, name: str
) -> None:
    m = working.metrics()
    assert value(m, "kafka_health_exporter_collector_up", collector=name, type="kafka") == 1
    assert value(m, "kafka_brokers", cluster=name) == 1
    for partition, lag in committed.lag.items():
        labels = {"cluster": name, "consumergroup": committed.group, "topic": committed.topic}
        assert value(m, "kafka_consumergroup_lag", partition=str(partition), **labels) == lag
    assert value(
        m,
        "kafka_consumergroup_lag_sum",
        cluster=name,
        consumergroup=committed.group,
        topic=committed.topic,
    ) == sum(committed.lag.values())
    status, body = working.get_json("/ready")
    assert status == 200, body
    assert body["collectors"][name]["up"] is True
    assert body["collectors"][name]["last_error"] is None


@pytest.mark.parametrize("name", list(BROKEN))
def test_failure_names_the_problem(broken: ExporterProcess, name: str) -> None:
    case = BROKEN[name]
    m = broken.metrics()
    assert value(m, "kafka_health_exporter_collector_up", collector=name, type="kafka") == 0
    assert value(m, "kafka_consumergroup_lag", cluster=name) is None
    status, ready = broken.get_json("/ready")
    assert status == 503
    assert name in ready["waiting_for"]
    error = ready["collectors"][name]["last_error"]
    assert error.startswith("KafkaBootstrapError: "), error
    for expected in case.expect:
        assert expected in error, f"{expected!r} not in {error!r}"
    assert "Unable to bootstrap" not in error
    assert f"collector {name}: refresh failed: {error}" in broken.log()
    status, health = broken.get_json(f"/health?collector={name}")
    assert health["collectors"][name]["last_error"] == error
    if not health["collectors"][name]["healthy"]:  # once stale: the reason quotes the error
        assert error in health["collectors"][name]["reason"]


def test_no_password_anywhere(working: ExporterProcess, broken: ExporterProcess) -> None:
    """Logs (at debug level), every endpoint, and check-config output hold no password, although
    the config files hold them all."""
    for exporter in (working, broken):
        config_text = exporter.config_path.read_text()
        assert any(secret in config_text for secret in SECRETS)  # the check below means it
        for path in ("/metrics", "/ready", "/health", "/"):
            assert_no_secret(path, exporter.get(path)[1].decode())
        assert_no_secret("the exporter log", exporter.log())
        checked = run_cli("check-config", "-c", str(exporter.config_path))
        assert checked.returncode == 0, checked.stderr
        assert_no_secret("check-config", checked.stdout + checked.stderr)
    assert "SASL authentication failed" in broken.log()  # the log is the real one


def test_unhealthy_once_stale_with_the_reason(
    cluster: KafkaCluster, committed: Committed, certs: Certificates, tmp_path: Path
) -> None:
    """A collector that never connects turns /health unhealthy after stale_after, and the
    reason says why (not only 'refresh failed')."""
    entry = {"listener": "SASL", "stale_after": "3s"}
    entry.update(sasl("SASL_PLAINTEXT", "SCRAM-SHA-512", WRONG_PASSWORD)(certs))
    config = collectors_config(cluster, committed.group, {"stale": entry})
    with ExporterProcess(config, tmp_path) as exporter:

        def unhealthy_after_a_failure() -> dict[str, Any] | None:
            status, body = exporter.get_json("/health")
            entry = body["collectors"]["stale"]
            return body if status == 503 and entry["failures"] >= 1 else None

        body = wait_for(unhealthy_after_a_failure, 15, what="/health 503 after a failure")
        entry = body["collectors"]["stale"]
        assert entry["healthy"] is False and entry["up"] is False
        assert "SASL authentication failed (SCRAM-SHA-512, user 'exporter')" in entry["reason"]
        assert entry["reason"].endswith(entry["last_error"]), entry
        assert_no_secret("/health", json.dumps(body))
        assert_no_secret("the exporter log", exporter.log())


def test_skip_verify_warns_once_at_start(working: ExporterProcess) -> None:
    """Each collector with ssl_insecure_skip_verify logs one warning at its first connection, not
    one per connection (nor one more where it is built: the server process builds it too); the
    others log none."""
    skipping = [name for name in WORKING if "skip-verify" in name]
    assert len(skipping) == 2
    log = working.log()
    for name in WORKING:
        lines = [
            line
            for line in log.splitlines()
            if f"collector {name}: ssl_insecure_skip_verify is true" in line
        ]
        assert len(lines) == (1 if name in skipping else 0), (name, lines)
        if lines:
            assert " WARNING " in lines[0] and "not verified" in lines[0]

"""The kafka collector against a real Kafka 4.x with SASL and TLS listeners, through the CLI.

One broker for the module (`tests/support/kafka_security.py`: SASL_PLAINTEXT with PLAIN and SCRAM, SSL,
SSL with client authentication, SASL_SSL, and SSL with a certificate for another name). The
group's offsets are committed over the PLAINTEXT listener; one exporter runs a collector per
working setup and must report the exact lag through each, another runs a collector per broken
setup and must report each failure with a message naming the mechanism or certificate problem.
No password may show in a log line, an error, a health body or a metric.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.exporter_process import ExporterProcess, run_cli, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.support.kafka_security import (
    PASSWORDS,
    SECRETS,
    USER,
    WRONG_PASSWORD,
    Certificates,
    make_certificates,
    secure_cluster,
)

Settings = Callable[[Certificates], dict[str, Any]]


@dataclass(frozen=True)
class Committed:
    """A topic with known watermarks and a group with known commits on it."""

    topic: str
    group: str
    lag: dict[int, int]
    """Expected lag per partition."""


def _sasl(protocol: str, mechanism: str, password: str | None = None, user: str = USER) -> Settings:
    def settings(certs: Certificates) -> dict[str, Any]:
        out: dict[str, Any] = {
            "security_protocol": protocol,
            "sasl_mechanism": mechanism,
            "sasl_username": user,
            "sasl_password": password or PASSWORDS[mechanism],
        }
        if protocol == "SASL_SSL":
            out["ssl_cafile"] = str(certs.ca)
        return out

    return settings


def _tls(cafile: str = "ca", client: str | None = None, **extra: Any) -> Settings:
    def settings(certs: Certificates) -> dict[str, Any]:
        out: dict[str, Any] = {
            "security_protocol": "SSL",
            "ssl_cafile": str(certs.ca if cafile == "ca" else certs.other_ca),
            **extra,
        }
        if client is not None:
            issued = certs.client if client == "ours" else certs.other_client
            out["ssl_certfile"], out["ssl_keyfile"] = str(issued.cert), str(issued.key)
        return out

    return settings


WORKING: dict[str, tuple[str, Settings]] = {
    "sasl-plain": ("SASL", _sasl("SASL_PLAINTEXT", "PLAIN")),
    "sasl-scram-sha-256": ("SASL", _sasl("SASL_PLAINTEXT", "SCRAM-SHA-256")),
    "sasl-scram-sha-512": ("SASL", _sasl("SASL_PLAINTEXT", "SCRAM-SHA-512")),
    "tls": ("TLS", _tls()),
    "mtls": ("MTLS", _tls(client="ours")),
    "sasl-ssl-plain": ("SASL_TLS", _sasl("SASL_SSL", "PLAIN")),
    "sasl-ssl-scram-sha-512": ("SASL_TLS", _sasl("SASL_SSL", "SCRAM-SHA-512")),
    "tls-no-hostname-check": ("TLS_NONAME", _tls(ssl_check_hostname=False)),
}
"""Collector name -> (listener, settings) of the setups that must work."""


@dataclass(frozen=True)
class Broken:
    listener: str
    settings: Settings
    expect: tuple[str, ...]
    """Substrings the error must contain (after the collector's address, which varies)."""


BROKEN: dict[str, Broken] = {
    "plain-wrong-password": Broken(
        "SASL",
        _sasl("SASL_PLAINTEXT", "PLAIN", WRONG_PASSWORD),
        ("SASL authentication failed (PLAIN, user 'exporter')", "Invalid username or password"),
    ),
    "scram-256-wrong-password": Broken(
        "SASL",
        _sasl("SASL_PLAINTEXT", "SCRAM-SHA-256", WRONG_PASSWORD),
        ("SASL authentication failed (SCRAM-SHA-256, user 'exporter')", "invalid credentials"),
    ),
    "scram-512-wrong-password-over-tls": Broken(
        "SASL_TLS",
        _sasl("SASL_SSL", "SCRAM-SHA-512", WRONG_PASSWORD),
        ("SASL authentication failed (SCRAM-SHA-512, user 'exporter')", "invalid credentials"),
    ),
    "plain-unknown-user": Broken(
        "SASL",
        _sasl("SASL_PLAINTEXT", "PLAIN", PASSWORDS["PLAIN"], user="nobody"),
        ("SASL authentication failed (PLAIN, user 'nobody')", "Invalid username or password"),
    ),
    "scram-unknown-user": Broken(
        "SASL",
        _sasl("SASL_PLAINTEXT", "SCRAM-SHA-512", PASSWORDS["SCRAM-SHA-512"], user="nobody"),
        ("SASL authentication failed (SCRAM-SHA-512, user 'nobody')", "invalid credentials"),
    ),
    "untrusted-ca": Broken(
        "TLS",
        _tls(cafile="other"),
        (
            "TLS: certificate verify failed: unable to get local issuer certificate",
            "not signed by a CA in ssl_cafile",
            "unrelated-ca.crt",
        ),
    ),
    "hostname-mismatch": Broken(
        "TLS_NONAME",
        _tls(),
        ("TLS: certificate verify failed: IP address mismatch", "ssl_check_hostname: false"),
    ),
    "mtls-without-client-cert": Broken(
        "MTLS",
        _tls(),
        ("TLS: the broker at", "requires a client certificate and none is configured"),
    ),
    "mtls-untrusted-client-cert": Broken(
        "MTLS",
        _tls(client="stranger"),
        ("TLS: the broker at", "rejected the client certificate", "stranger-client.crt"),
    ),
    "missing-cafile": Broken(
        "TLS",
        lambda _: {"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.pem"},
        ("TLS: cannot load ssl_cafile /nonexistent/ca.pem: No such file or directory",),
    ),
    "client-key-does-not-match-cert": Broken(
        "MTLS",
        lambda certs: {
            "security_protocol": "SSL",
            "ssl_cafile": str(certs.ca),
            "ssl_certfile": str(certs.client.cert),
            "ssl_keyfile": str(certs.other_client.key),
        },
        (
            "TLS: cannot load ssl_certfile",
            "exporter-client.crt",
            "stranger-client.key",
            "key values mismatch",
        ),
    ),
    "plaintext-client-on-tls-listener": Broken(
        "TLS",
        lambda _: {"security_protocol": "PLAINTEXT"},
        ("speaks TLS but security_protocol is PLAINTEXT", "use SSL or SASL_SSL"),
    ),
    "sasl-client-on-tls-listener": Broken(
        "TLS",
        _sasl("SASL_SSL", "SCRAM-SHA-256"),
        ("SASL handshake (SCRAM-SHA-256) refused", "the listener does not take SASL"),
    ),
    "plaintext-client-on-sasl-listener": Broken(
        "SASL",
        lambda _: {"security_protocol": "PLAINTEXT"},
        ("closed the connection at the first request", "may require SASL"),
    ),
}


def _config(cluster: KafkaCluster, group: str, entries: dict[str, dict[str, Any]]) -> str:
    """One collector per entry (name -> listener and security settings) in a real config file."""
    collectors = [
        {
            "name": name,
            "type": "kafka",
            "bootstrap_servers": cluster.listener_bootstrap(entry.pop("listener")),
            "cluster": name,
            "groups": {"include": [group]},
            "health": True,
            **entry,
        }
        for name, entry in entries.items()
    ]
    config = {"defaults": {"interval": "2s", "timeout": "1500ms"}, "collectors": collectors}
    return yaml.safe_dump(config, sort_keys=False)


def _assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a password shows in {where}"


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
    config = _config(cluster, committed.group, entries)
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
    config = _config(cluster, committed.group, entries)
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
            _assert_no_secret(path, exporter.get(path)[1].decode())
        _assert_no_secret("the exporter log", exporter.log())
        checked = run_cli("check-config", "-c", str(exporter.config_path))
        assert checked.returncode == 0, checked.stderr
        _assert_no_secret("check-config", checked.stdout + checked.stderr)
    assert "SASL authentication failed" in broken.log()  # the log is the real one


def test_unhealthy_once_stale_with_the_reason(
    cluster: KafkaCluster, committed: Committed, certs: Certificates, tmp_path: Path
) -> None:
    """A collector that never connects turns /health unhealthy after stale_after, and the
    reason says why (not only 'refresh failed')."""
    entry = {"listener": "SASL", "stale_after": "3s"}
    entry.update(_sasl("SASL_PLAINTEXT", "SCRAM-SHA-512", WRONG_PASSWORD)(certs))
    config = _config(cluster, committed.group, {"stale": entry})
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
        _assert_no_secret("/health", json.dumps(body))
        _assert_no_secret("the exporter log", exporter.log())

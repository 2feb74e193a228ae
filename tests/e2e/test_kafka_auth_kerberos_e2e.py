"""SASL GSSAPI (Kerberos) against a real Kafka 4.x and a real MIT KDC on loopback, through the CLI.

The test makes the realm, the broker's `kafka/localhost` keytab and the clients' keytabs
(tests/support/kafka_security_kerberos.py). One exporter process per Kerberos identity (the
process's Kerberos setup is one): exact lag with a keytab; with tickets that live 10 seconds
while the broker ends sessions every 3 (so new connections keep needing fresh tickets); with a
ticket cache made by `kinit` and no keytab; and failures that name the mechanism and what was
wrong (unknown broker principal, wrong service name, a principal the keytab has no key for, a
principal the KDC does not know).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.exporter_process import ExporterProcess, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.support.kafka_security_cases import collectors_config
from tests.support.kafka_security_kerberos import CLIENT, REALM, Kdc, kerberos_cluster

LAG = {0: 2, 1: 5}


@pytest.fixture(scope="module")
def kdc() -> Iterator[Kdc]:
    with Kdc() as started:
        started.add_principal(CLIENT)
        started.add_principal("short", maxlife="10 seconds")
        started.add_principal("gone")
        started.kadmin(f"delprinc -force gone@{REALM}")  # its keytab stays, the KDC forgets it
        yield started


@pytest.fixture(scope="module")
def cluster(kdc: Kdc) -> Iterator[KafkaCluster]:
    broker = kerberos_cluster(kdc)
    broker.listeners[0].properties["gssapi.connections.max.reauth.ms"] = "3000"
    with broker as started:
        yield started


@pytest.fixture(scope="module")
def group(cluster: KafkaCluster) -> tuple[str, str]:
    topic, name = unique("krb"), unique("krb-g")

    async def setup() -> None:
        await create_topics(cluster.bootstrap, {topic: 2})
        await produce(cluster.bootstrap, topic, {0: 3, 1: 5})
        await commit(cluster.bootstrap, name, {(topic, 0): 1, (topic, 1): 0})

    asyncio.run(setup())
    return topic, name


def _gssapi(kdc: Kdc, principal: str | None = CLIENT, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "listener": "KRB",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "GSSAPI",
        "sasl_kerberos_krb5_config": str(kdc.krb5_conf),
        "sasl_kerberos_domain_name": "localhost",
    }
    if principal is not None:
        out["sasl_kerberos_principal"] = f"{principal}@{REALM}"
        out["sasl_kerberos_keytab"] = str(kdc.keytab(principal))
    return {**out, **extra}


def _assert_exact_lag(exporter: ExporterProcess, name: str, topic: str, group: str) -> None:
    m = exporter.metrics()
    assert value(m, "kafka_health_exporter_collector_up", collector=name, type="kafka") == 1
    for partition, lag in LAG.items():
        assert (
            value(m, "kafka_consumergroup_lag", cluster=name, consumergroup=group, topic=topic,
                  partition=str(partition))
            == lag
        )  # fmt: skip


def test_exact_lag_with_a_keytab(
    kdc: Kdc, cluster: KafkaCluster, group: tuple[str, str], tmp_path: Path
) -> None:
    topic, name = group
    config = collectors_config(cluster, name, {"krb": _gssapi(kdc)})
    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready(30)
        _assert_exact_lag(exporter, "krb", topic, name)


def test_short_tickets_are_renewed_from_the_keytab(
    kdc: Kdc, cluster: KafkaCluster, group: tuple[str, str], tmp_path: Path
) -> None:
    """Tickets live 10s and the broker ends sessions every 3s: over 25s the exporter makes
    new connections with renewed tickets and never fails a refresh."""
    topic, name = group
    config = collectors_config(cluster, name, {"krb-short": _gssapi(kdc, "short")})
    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready(30)
        wait_for(
            lambda: "renewed before their SASL session ends" in exporter.log(), 15,
            what="a connection renewed before its session ends",
        )  # fmt: skip
        wait_for(lambda: _ran_for(exporter, 25), 40, what="25s of refreshes")
        _assert_exact_lag(exporter, "krb-short", topic, name)
        m = exporter.metrics()
        failures = value(m, "kafka_health_exporter_collector_failures_total", collector="krb-short")
        assert failures == 0, exporter.log()[-3000:]


def _ran_for(exporter: ExporterProcess, seconds: float) -> bool:
    m = exporter.metrics()
    up_since = value(m, "process_start_time_seconds")
    last = value(
        m, "kafka_health_exporter_collector_last_success_timestamp_seconds", collector="krb-short"
    )
    return up_since is not None and last is not None and last - up_since >= seconds


def test_ticket_cache_without_keytab(
    kdc: Kdc, cluster: KafkaCluster, group: tuple[str, str], tmp_path: Path
) -> None:
    assert shutil.which("kinit"), "kinit is needed (Debian krb5-user; .ci/run installs it)"
    topic, name = group
    ccache = f"FILE:{tmp_path / 'ccache'}"
    subprocess.run(
        ["kinit", "-k", "-t", str(kdc.keytab(CLIENT)), "-c", ccache, f"{CLIENT}@{REALM}"],
        env=kdc.env, check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    entry = _gssapi(kdc, None, sasl_kerberos_ccache=ccache)
    config = collectors_config(cluster, name, {"krb-ccache": entry})
    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready(30)
        _assert_exact_lag(exporter, "krb-ccache", topic, name)


BROKEN: dict[str, tuple[str | None, dict[str, Any], tuple[str, ...]]] = {
    "unknown-broker-principal": (
        CLIENT, {"sasl_kerberos_domain_name": None},
        ("SASL GSSAPI failed (GSSAPI, principal 'exporter@KHE.TEST', service 'kafka') at 127.0.0.1:",
         "Server kafka/127.0.0.1@KHE.TEST not found in Kerberos database",
         "the broker's principal: kafka/127.0.0.1@REALM"),
    ),
    "wrong-service-name": (
        CLIENT, {"sasl_kerberos_service_name": "kafka2"},
        ("service 'kafka2'", "Server kafka2/localhost@KHE.TEST not found in Kerberos database"),
    ),
    "no-key-for-principal": (
        "nobody", {},
        ("SASL GSSAPI: cannot get a Kerberos ticket for principal 'nobody@KHE.TEST' with keytab",),
    ),
    "principal-unknown-to-kdc": (
        "gone", {},
        ("SASL GSSAPI: cannot get a Kerberos ticket for principal 'gone@KHE.TEST'",
         "not found in Kerberos database"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BROKEN))
def test_failure_names_the_problem(
    kdc: Kdc, cluster: KafkaCluster, group: tuple[str, str], tmp_path: Path, case: str
) -> None:
    principal, extra, expected = BROKEN[case]
    entry = _gssapi(kdc, CLIENT, **extra)
    if principal != CLIENT:
        entry["sasl_kerberos_principal"] = f"{principal}@{REALM}"
        entry["sasl_kerberos_keytab"] = str(kdc.keytab("gone" if principal == "gone" else CLIENT))
    entry = {k: v for k, v in entry.items() if v is not None}
    config = collectors_config(cluster, group[1], {case: entry})
    with ExporterProcess(config, tmp_path) as exporter:

        def failed() -> str | None:
            _, body = exporter.get_json("/ready")
            return body["collectors"][case]["last_error"]

        error = wait_for(failed, 20, what=f"a failure: {exporter.log()[-2000:]}")
        assert error.startswith("KafkaBootstrapError: "), error
        for part in expected:
            assert part in error, (part, error)
        assert value(exporter.metrics(), "kafka_brokers", cluster=case) is None

"""`time_lag.method: auto` on a real Kafka 4.x with an authorizer, through the CLI.

A KRaft node with `StandardAuthorizer`: PLAINTEXT (tests, inter-broker) and the controller
listener are the super user `ANONYMOUS`; the exporter connects as `exporter` over SASL_PLAINTEXT
(SCRAM-SHA-256, tests/support/kafka_security.py) with what it needs to read lag (Describe on
the cluster, every topic and every group) and Read on the topic `readable` only, not on
`secret`. Both hold records with CreateTimes about 300 s in the past and a group behind on
both. README (time-lag table): a partition whose records may not be read gets the estimate,
logged once per partition and counted in `kafka_health_exporter_lag_seconds_unreadable`; the
estimate is absent until a partition has been seen twice, then at most twice the time watched.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from functools import partial
from pathlib import Path

from tests.support.exporter_process import ExporterProcess, Samples, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, unique
from tests.support.kafka_jars import KAFKA_4, java_command
from tests.support.kafka_security import PASSWORDS, USER, sasl_listener, scram_users
from tests.support.lag_records import Accuracy, Stamps, produce_at, seconds_ago

ACL_COMMAND = "org.apache.kafka.tools.AclCommand"
COLLECTOR = "acl"
CONFIG = """
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: {name}
    type: kafka
    bootstrap_servers: "{bootstrap}"
    security_protocol: SASL_PLAINTEXT
    sasl_mechanism: SCRAM-SHA-256
    sasl_username: {user}
    sasl_password: "{password}"
    groups: {{include: ["{group}"]}}
    topics: {{include: ["{readable}", "{secret}"]}}
"""


def _authorized_cluster() -> KafkaCluster:
    return KafkaCluster(
        version=KAFKA_4,
        listeners=[sasl_listener()],
        properties={
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # PLAINTEXT and CONTROLLER have no authentication: their principal is ANONYMOUS.
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
            "sasl.enabled.mechanisms": "SCRAM-SHA-256",
        },
        scram_users=scram_users(),
    )


def _acl(cluster: KafkaCluster, *args: str) -> None:
    """Run kafka-tools' AclCommand against the PLAINTEXT (super user) listener."""
    command = java_command(KAFKA_4, ACL_COMMAND, "--bootstrap-server", cluster.bootstrap, *args)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"


def _grant(cluster: KafkaCluster, readable: str) -> None:
    principal = ("--add", "--allow-principal", f"User:{USER}", "--force")
    # Metadata, ListOffsets, ListGroups, DescribeGroups, FindCoordinator and OffsetFetch.
    _acl(
        cluster, *principal, "--operation", "Describe", "--cluster", "--topic", "*", "--group", "*"
    )
    _acl(cluster, *principal, "--operation", "Read", "--topic", readable)  # Fetch


def _lag(samples: Samples, group: str, topic: str) -> float | None:
    return value(
        samples, "kafka_consumergroup_lag_seconds", consumergroup=group, topic=topic, partition="0"
    )


def _self(samples: Samples, name: str) -> float | None:
    return value(samples, f"kafka_health_exporter_{name}", collector=COLLECTOR)


def test_unreadable_partition_falls_back_to_the_estimate(tmp_path: Path) -> None:
    readable, secret, group = unique("readable"), unique("secret"), unique("acl-g")
    started = time.monotonic()
    with _authorized_cluster() as cluster:
        bootstrap = cluster.bootstrap

        async def setup() -> dict[str, Stamps]:
            await create_topics(bootstrap, {readable: 1, secret: 1})
            out = {
                readable: await produce_at(bootstrap, readable, 0, seconds_ago(300, 20)),
                secret: await produce_at(bootstrap, secret, 0, seconds_ago(320, 20)),
            }
            await commit(bootstrap, group, {(readable, 0): 5, (secret, 0): 5})
            return out

        stamps = asyncio.run(setup())
        _grant(cluster, readable)
        print(f"broker, records and ACLs: {time.monotonic() - started:.1f}s")
        config = CONFIG.format(
            name=COLLECTOR,
            bootstrap=cluster.listener_bootstrap("SASL"),
            user=USER,
            password=PASSWORDS["SCRAM-SHA-256"],
            group=group,
            readable=readable,
            secret=secret,
        )
        acc = Accuracy()
        with ExporterProcess(config, tmp_path) as exporter:

            def complete() -> Samples | None:
                samples = exporter.metrics()
                return samples if _lag(samples, group, readable) is not None else None

            first = wait_for(complete, 20, interval=0.05, what=f"lag seconds of {readable}")
            first_at = _self(first, "collector_last_success_timestamp_seconds")
            assert first_at is not None
            acc.check(
                "readable, first refresh",
                _lag(first, group, readable),
                first_at - stamps[readable][5],
            )
            # One observation tells no time: the estimate for `secret` is absent, not its record.
            assert _lag(first, group, secret) is None
            assert _self(first, "lag_seconds_unreadable") == 1
            assert _self(first, "lag_seconds_pending") == 0
            assert _self(first, "collector_up") == 1

            def refreshed(after: float) -> Samples | None:
                samples = exporter.metrics()
                at = _self(samples, "collector_last_success_timestamp_seconds")
                return samples if at is not None and at > after else None

            at, estimates = first_at, []
            for _ in range(4):  # several refreshes: still an estimate, still counted, still up
                samples = wait_for(partial(refreshed, at), 5, interval=0.05, what="a refresh")
                at = _self(samples, "collector_last_success_timestamp_seconds")
                assert at is not None
                acc.check("readable", _lag(samples, group, readable), at - stamps[readable][5])
                estimate = _lag(samples, group, secret)
                estimates.append(estimate)
                assert _self(samples, "lag_seconds_unreadable") == 1
                assert _self(samples, "collector_up") == 1
                assert not _self(samples, "collector_failures_total")
            watched = at - first_at
            # Present from the second observation on, and an estimate: bounded by twice the
            # time watched (plus a refresh), far from the record's 320 s.
            assert all(e is not None and 0 <= e <= 2 * watched + 2 for e in estimates), (
                estimates,
                watched,
            )
            log = exporter.log()
        about_secret = [line for line in log.splitlines() if f"{secret}-0" in line]
        assert len(about_secret) == 1, about_secret
        assert "not allowed to read" in about_secret[0], about_secret
        assert not [
            line for line in log.splitlines() if f"{readable}-0" in line and "not allowed" in line
        ]
    print(f"secret estimates {estimates} over {watched:.1f}s watched; log: {about_secret[0]}")
    print(acc.report())
    print(f"total {time.monotonic() - started:.1f}s")

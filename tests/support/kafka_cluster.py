"""Real Apache Kafka for tests: KRaft nodes started from Maven Central jars on 127.0.0.1.

The jars and the java command line come from tests/support/kafka_jars.py, each node's JVM is a
`KafkaNode` (tests/support/kafka_node.py). A `KafkaCluster` formats each node's storage with
`kafka.tools.StorageTool`, starts `kafka.Kafka server.properties` per node, waits until a client
sees every broker in metadata, and stops (SIGTERM, then SIGKILL) and reaps every JVM it started.
One node bootstraps its quorum with `--standalone`; several form a static quorum
(`controller.quorum.voters`).

Group types: a freshly formatted 4.4 cluster finalizes `share.version=2` (share groups, KIP-932,
with DLQ support) and `streams.version=1` (streams groups, KIP-1071) by itself: StorageTool's
defaults for metadata.version 4.4-IV2, and `group.coordinator.rebalance.protocols` (deprecated)
defaults to classic,consumer,streams, while share groups follow share.version alone. So nothing is
pinned by default; `features` pins levels at format time (`--feature share.version=0` formats a
cluster without share groups). On 4.x the KIP-848, share and streams heartbeat intervals are
lowered to 500 ms (`GROUP_HEARTBEATS`): members join and reconcile in about a second instead of
5 s per step. Kafka 3.x gets neither.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from exporter.cli.demo.broker import TansuBroker
from tests.support.kafka_jars import KAFKA_4, KafkaUnavailable, java_command
from tests.support.kafka_node import KafkaNode, Listener, distinct_free_ports

T = TypeVar("T")

GROUP_HEARTBEATS = {
    f"group.{kind}.{name}heartbeat.interval.ms": "500"
    for kind in ("consumer", "share", "streams")
    for name in ("", "min.")
}
"""Broker properties of Kafka 4.x nodes: the heartbeat interval the coordinator hands KIP-848,
share and streams group members (default 5 s, minimum 5 s)."""


@dataclass
class KafkaCluster:
    """`size` combined KRaft nodes of Kafka `version` on 127.0.0.1, with a PLAINTEXT listener
    each and optional extra listeners (SASL, SSL). Use as a context manager."""

    version: str = KAFKA_4
    size: int = 1
    listeners: list[Listener] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    """Extra broker properties, on every node."""
    scram_users: list[str] = field(default_factory=list)
    """`--add-scram` arguments for the format step, e.g. `SCRAM-SHA-256=[name=u,password=p]`."""
    jvm: tuple[str, ...] = ()
    """Extra JVM options, e.g. `-Djava.security.auth.login.config=...`."""
    features: dict[str, int] = field(default_factory=dict)
    """`--feature name=level` pins for the format step, e.g. {"share.version": 0}."""
    directory: Path | None = None
    nodes: list[KafkaNode] = field(default_factory=list)
    cluster_id: str = ""

    @property
    def bootstrap(self) -> str:
        """Every node's PLAINTEXT address, comma separated."""
        return ",".join(node.bootstrap for node in self.nodes)

    def listener_bootstrap(self, name: str) -> str:
        """Every node's address on the extra listener `name`."""
        return ",".join(f"127.0.0.1:{node.extra_ports[name]}" for node in self.nodes)

    @property
    def port(self) -> int:
        """The first node's PLAINTEXT port (what TansuBroker offers as `port`)."""
        return self.nodes[0].broker_port

    keeps_data = True
    """Restarting a node keeps its logs and committed offsets (Tansu's memory storage does not)."""

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, timeout: float = 90.0) -> KafkaCluster:
        """Format every node, start them, and wait until all brokers are in metadata."""
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix=f"kafka-{self.version}-"))
        self.cluster_id = _cluster_id()
        per_node = 2 + len(self.listeners)  # broker, controller, one per extra listener
        ports = iter(distinct_free_ports(per_node * self.size))
        self.nodes = [
            KafkaNode(
                node_id=i + 1,
                version=self.version,
                directory=self.directory / f"node-{i + 1}",
                broker_port=next(ports),
                controller_port=next(ports),
                extra_ports={listener.name: next(ports) for listener in self.listeners},
                jvm=self.jvm,
            )
            for i in range(self.size)
        ]
        try:
            for node in self.nodes:
                node.directory.mkdir(parents=True, exist_ok=True)
                node.properties_path.write_text(self._properties(node))
                self._format(node)
            for node in self.nodes:
                node.start()
            self.wait_ready(timeout)
            _in_own_loop(partial(_group_coordinator_ready, self.bootstrap, timeout))
        except BaseException:
            self.close()
            raise
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Stop and reap every node at once (SIGTERM, SIGKILL after `timeout`); data is kept, so
        `restart()` brings the cluster back with its topics and offsets."""
        stopping = [node for node in self.nodes if node.process is not None]
        for node in stopping:
            node.signal(signal.SIGCONT)  # a SIGSTOPped node must run to exit
            node.signal(signal.SIGTERM)
        for node in stopping:
            node.stop(timeout)

    def close(self) -> None:
        """Stop every node and remove the data directories."""
        self.stop()
        if self.directory is not None and not os.environ.get("KHE_KEEP_KAFKA"):
            shutil.rmtree(self.directory, ignore_errors=True)

    def restart(self, *nodes: KafkaNode, timeout: float = 90.0) -> KafkaCluster:
        """Start stopped `nodes` (default: all) again; wait until every broker is in metadata."""
        for node in nodes or self.nodes:
            node.start()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90.0, brokers: int | None = None) -> None:
        """Wait until a client sees `brokers` (default: every running node) in metadata."""
        want = brokers if brokers is not None else sum(node.running for node in self.nodes)
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.process is not None and node.process.poll() is not None:
                    raise KafkaUnavailable(
                        f"kafka node {node.node_id} exited with {node.process.returncode}:\n"
                        f"{node.log_tail()}"
                    )
            running = [node.bootstrap for node in self.nodes if node.running]
            try:
                seen = _in_own_loop(partial(_brokers_seen, ",".join(running)))
                if seen >= want:
                    return
                last = f"{seen} of {want} brokers in metadata"
            except Exception as exc:  # noqa: BLE001 (any failure here means: not ready yet)
                last = repr(exc)
            time.sleep(0.3)
        tails = "\n".join(f"node {n.node_id}: {n.log_tail(1500)}" for n in self.nodes)
        raise KafkaUnavailable(f"kafka not ready within {timeout}s ({last}):\n{tails}")

    def _format(self, node: KafkaNode) -> None:
        args = ["format", "-t", self.cluster_id, "-c", str(node.properties_path)]
        if self.size == 1:
            args.append("--standalone")
        for user in self.scram_users:
            args += ["--add-scram", user]
        for name, level in self.features.items():
            args += ["--feature", f"{name}={level}"]
        result = subprocess.run(
            java_command(self.version, "kafka.tools.StorageTool", *args),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if result.returncode != 0:
            raise KafkaUnavailable(
                f"StorageTool format failed for node {node.node_id}: {result.stdout}{result.stderr}"
            )

    def _properties(self, node: KafkaNode) -> str:
        listeners = [f"PLAINTEXT://127.0.0.1:{node.broker_port}"]
        protocols = ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT"]
        scoped: dict[str, str] = {}
        for listener in self.listeners:
            listeners.append(f"{listener.name}://127.0.0.1:{node.extra_ports[listener.name]}")
            protocols.append(f"{listener.name}:{listener.protocol}")
            for key, value in listener.properties.items():
                scoped[f"listener.name.{listener.name.lower()}.{key}"] = value
        replication = str(min(self.size, 3))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "listeners": ",".join([*listeners, f"CONTROLLER://127.0.0.1:{node.controller_port}"]),
            "advertised.listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(protocols),
            "log.dirs": str(node.directory / "data"),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "offsets.topic.replication.factor": replication,
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": replication,
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "group.streams.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "log.flush.interval.messages": "1000000",
            "controlled.shutdown.max.retries": "1",
            "unclean.leader.election.enable": "false",
            **(GROUP_HEARTBEATS if _major(self.version) >= 4 else {}),
            **scoped,
            **self.properties,
        }
        if self.size == 1:
            props["controller.quorum.bootstrap.servers"] = f"127.0.0.1:{node.controller_port}"
        else:
            props["controller.quorum.voters"] = ",".join(
                f"{i + 1}@127.0.0.1:{n.controller_port}" for i, n in enumerate(self.nodes)
            )
        return "".join(f"{key}={value}\n" for key, value in props.items())


def _major(version: str) -> int:
    """4 for "4.4.0"."""
    return int(version.split(".", 1)[0])


def _cluster_id() -> str:
    """A random cluster id as StorageTool expects it (a base64url UUID without padding)."""
    import base64

    while True:  # one that starts with "-" would read as an option of StorageTool's -t
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _in_own_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a new loop in a thread: callable from sync code and from
    inside a running loop (async tests) alike."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def _group_coordinator_ready(bootstrap: str, timeout: float) -> None:
    """Wait until FindCoordinator answers for a group: the first one creates __consumer_offsets,
    and until its partitions have leaders every commit fails with COORDINATOR_NOT_AVAILABLE."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    deadline = time.monotonic() + timeout
    try:
        await client.bootstrap()
        while True:
            try:
                await client.coordinator_lookup(0, "kafka-cluster-ready")
                return
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await client.close()


async def _brokers_seen(bootstrap: str) -> int:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(client.bootstrap(), 5)
        return len(client.cluster.brokers())
    finally:
        await client.close()


Broker = KafkaCluster | TansuBroker
"""Any broker a test can run against: real Kafka, or Tansu for the compatibility subset."""

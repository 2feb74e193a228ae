"""Placing data on chosen brokers of a multi-node Kafka cluster, for the replication tests.

Topics with explicit replicas (preferred leader first) that wait until every partition is led by
its preferred replica with a full ISR, records acknowledged by every in-sync replica, and a group
name whose coordinator is a given broker.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

OFFSETS_PARTITIONS = 5
"""`offsets.topic.num.partitions` of tests/support/kafka_cluster.py: which partition holds a group."""


async def _admin(bootstrap: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        await admin.start()
    except BaseException:
        await admin.close()
        raise
    return admin


async def _partitions(admin: AIOKafkaAdminClient, topic: str) -> dict[int, dict[str, Any]]:
    described = await admin.describe_topics([topic])
    return {p["partition"]: p for t in described if t["topic"] == topic for p in t["partitions"]}


async def create_placed_topics(bootstrap: str, placement: dict[str, dict[int, list[int]]]) -> None:
    """Create topics with explicit replicas (topic -> partition -> broker ids, preferred leader
    first) and wait until every partition is led by its preferred replica with a full ISR."""
    admin = await _admin(bootstrap)
    try:
        response = await admin.create_topics(
            [NewTopic(t, -1, -1, replica_assignments=parts) for t, parts in placement.items()]
        )
        failed = [e for e in response.topic_errors if e[1]]
        assert not failed, failed
        deadline = time.monotonic() + 20
        while True:
            settled = True
            for topic, parts in placement.items():
                found = await _partitions(admin, topic)
                for number, replicas in parts.items():
                    p = found.get(number)
                    if p is None or p["leader"] != replicas[0] or len(p["isr"]) != len(replicas):
                        settled = False
            if settled:
                return
            assert time.monotonic() < deadline, f"topics {placement} did not settle"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def produce_all(bootstrap: str, topic: str, counts: dict[int, int]) -> None:
    """Produce `counts[p]` records to partition p, acknowledged by every in-sync replica."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    try:
        for partition, count in counts.items():
            for i in range(count):
                await producer.send_and_wait(topic, f"m{i}".encode(), partition=partition)
    finally:
        await producer.stop()


def _java_hash(text: str) -> int:
    """Java's String.hashCode, as Kafka uses it to place a group on an offsets partition."""
    h = 0
    for char in text:
        h = (31 * h + ord(char)) & 0xFFFFFFFF
    return h


async def group_coordinated_by(bootstrap: str, node_id: int, prefix: str) -> str:
    """A group name whose coordinator is broker `node_id` (`__consumer_offsets` must exist)."""
    admin = await _admin(bootstrap)
    try:
        led = {
            n
            for n, p in (await _partitions(admin, "__consumer_offsets")).items()
            if p["leader"] == node_id
        }
    finally:
        await admin.close()
    assert led, f"broker {node_id} leads no __consumer_offsets partition"
    for i in range(1000):
        name = f"{prefix}-{i}"
        if (_java_hash(name) & 0x7FFFFFFF) % OFFSETS_PARTITIONS in led:
            return name
    raise AssertionError("no group name found")

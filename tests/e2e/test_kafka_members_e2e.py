"""The `members` option on real Kafka 4.4 with real Java consumers: classic groups (DescribeGroups
v4, static and dynamic members) and KIP-848 consumer groups (ConsumerGroupDescribe, static and
dynamic members). Every member's series carry exactly the member id, client id, host and group
instance id the Java Admin client's describeConsumerGroups reads, and its assigned partitions
count equals the Admin's; with the option off there is no member series and nothing is kept."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.core import Metric

from exporter.collectors.kafka import KafkaCollector
from exporter.collectors.kafka.config import KafkaConfig
from tests.support.group_clients import JavaGroupMembers, describe_group
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import create_topics, delete_topics, unique
from tests.support.kafka_jars import KAFKA_4
from tests.support.streams_app import StreamsApp

INFO = "kafka_consumergroup_member_info"
ASSIGNED = "kafka_consumergroup_member_assigned_partitions"

Members = dict[str, tuple[str, str, str, int]]
"""member id -> (client id, host, group instance id or "", assigned partitions)."""


def _config(bootstrap: str, prefix: str, members: bool) -> KafkaConfig:
    return KafkaConfig.model_validate(
        {
            "name": "members",
            "type": "kafka",
            "bootstrap_servers": [bootstrap],
            "cluster": "c1",
            "interval": 5.0,
            "timeout": 4.0,
            "groups": {"include": [f"{prefix}.*"]},
            "topics": {"include": [f"{prefix}.*"]},
            "time_lag": {"method": "off"},
            "members": members,
        }
    )


def _admin_members(bootstrap: str, group: str) -> Members:
    described = describe_group(KAFKA_4, bootstrap, group, "consumer")
    return {
        row["member_id"]: (
            row["client_id"],
            row["host"],
            row["group_instance_id"] or "",
            row["partitions"],
        )
        for row in described["member_details"]
    }


def _exported(families: Iterable[Metric], group: str) -> Members:
    """The members of `group` as the collector's two families say (each member in both)."""
    info: dict[str, dict[str, str]] = {}
    assigned: dict[str, tuple[dict[str, str], float]] = {}
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            if labels.get("consumergroup") != group:
                continue
            assert labels["cluster"] == "c1", labels
            if family.name == INFO:
                assert sample.value == 1 and labels["member_id"] not in info, sample
                info[labels["member_id"]] = labels
            elif family.name == ASSIGNED:
                assigned[labels["member_id"]] = (labels, sample.value)
    assert set(info) == set(assigned), (info, assigned)
    out: Members = {}
    for member, labels in info.items():
        other, count = assigned[member]
        assert {k: v for k, v in labels.items() if k != "group_instance_id"} == other
        out[member] = (labels["client_id"], labels["host"], labels["group_instance_id"], int(count))
    return out


async def _matches_admin(
    collector: KafkaCollector, bootstrap: str, groups: list[str], timeout: float = 60.0
) -> dict[str, Members]:
    """Refresh until every group's exported members equal the Admin's (read just before); the
    matched members per group."""
    deadline = time.monotonic() + timeout
    while True:
        admin = {g: await asyncio.to_thread(_admin_members, bootstrap, g) for g in groups}
        families = collector.to_metrics(await collector.fetch())
        exported = {g: _exported(families, g) for g in groups}
        if exported == admin:
            return admin
        assert time.monotonic() < deadline, f"(exported, admin): {exported} != {admin}"
        await asyncio.sleep(1)


async def test_member_labels_and_assignments_equal_admin_describe(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    bootstrap, prefix = kafka4.bootstrap, unique("mbr")
    topic = f"{prefix}-t"
    groups = {
        ("classic", "static"): f"{prefix}-classic-static",
        ("classic", "dynamic"): f"{prefix}-classic-dynamic",
        ("consumer", "static"): f"{prefix}-consumer-static",
        ("consumer", "dynamic"): f"{prefix}-consumer-dynamic",
    }
    await create_topics(bootstrap, {topic: 5})
    try:
        with contextlib.ExitStack() as stack:
            for (kind, membership), group in groups.items():
                count = 2 if membership == "static" else 3
                prefix_ids = f"{group}-instance-" if membership == "static" else None
                clients = JavaGroupMembers(
                    KAFKA_4, bootstrap, kind, group, topic, count, tmp_path,
                    instance_prefix=prefix_ids,
                )  # fmt: skip
                stack.enter_context(clients)
            collector = KafkaCollector(_config(bootstrap, prefix, True))
            try:
                found = await _matches_admin(collector, bootstrap, list(groups.values()))
                off = KafkaCollector(_config(bootstrap, prefix, False))
                try:
                    refresh = await off.fetch()
                    off_names = {family.name for family in off.to_metrics(refresh)}
                finally:
                    await off.close()
            finally:
                await collector.close()
        for (kind, membership), group in groups.items():
            members = found[group]
            assert len(members) == (2 if membership == "static" else 3), (group, members)
            # every partition of the topic assigned, to exactly one member each
            assert sum(m[3] for m in members.values()) == 5, (group, members)
            assert all(m[0].startswith(f"{group}-member-") for m in members.values())
            assert all(m[1].startswith("/") for m in members.values()), members  # Kafka's form
            instance_ids = sorted(m[2] for m in members.values())
            if membership == "static":
                assert instance_ids == [f"{group}-instance-0", f"{group}-instance-1"], kind
            else:
                assert instance_ids == ["", "", ""], kind
        # off: the groups are reported, their members are not, and nothing was kept
        assert "kafka_consumergroup_members" in off_names
        assert not off_names & {INFO, ASSIGNED}
        assert all(info.member_details == () for info in refresh.state.groups.values())
        assert set(refresh.state.groups) >= set(groups.values())
    finally:
        await delete_topics(bootstrap, [topic])


async def test_streams_members_equal_admin_describe(kafka4: KafkaCluster, tmp_path: Path) -> None:
    """A real Kafka Streams app (group.protocol=streams, two stream threads, two members): each
    member's info series has the Admin's describeStreamsGroups member id, client id, host and
    instance id; no assigned-partitions series (a streams assignment is tasks)."""
    bootstrap, prefix = kafka4.bootstrap, unique("mbrs")
    source, sink, app_id = f"{prefix}-in", f"{prefix}-out", f"{prefix}-app"
    await create_topics(bootstrap, {source: 2, sink: 1})
    app = StreamsApp(
        KAFKA_4, bootstrap, app_id, (source, sink), tmp_path / "app", threads=2,
        group_protocol="streams",
    )  # fmt: skip
    collector = KafkaCollector(_config(bootstrap, prefix, True))
    try:
        await asyncio.to_thread(app.start)
        app.wait_state("RUNNING", 60)
        deadline = time.monotonic() + 60
        while True:
            described = await asyncio.to_thread(
                describe_group, KAFKA_4, bootstrap, app_id, "streams"
            )
            admin = {
                row["member_id"]: {
                    "client_id": row["client_id"],
                    "host": row["host"],
                    "group_instance_id": row["group_instance_id"] or "",
                }
                for row in described["member_details"]
            }
            families = collector.to_metrics(await collector.fetch())
            exported = {
                s.labels["member_id"]: {
                    k: s.labels[k] for k in ("client_id", "host", "group_instance_id")
                }
                for family in families
                if family.name == INFO
                for s in family.samples
                if s.labels["consumergroup"] == app_id
            }
            if described["state"] == "Stable" and len(admin) == 2 and exported == admin:
                break
            assert time.monotonic() < deadline, f"(exported, admin): {exported} != {admin}"
            await asyncio.sleep(1)
        assigned = [
            s for f in families if f.name == ASSIGNED for s in f.samples
            if s.labels["consumergroup"] == app_id
        ]  # fmt: skip
        assert assigned == []
        assert all(m["host"].startswith("/") for m in exported.values()), exported
    finally:
        await collector.close()
        app.stop()
        await delete_topics(bootstrap, [source, sink])

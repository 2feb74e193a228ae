"""The group API codecs (exporter/collectors/kafka/protocol) against real brokers through a real
AIOKafkaClient: the versions each broker offers, ListGroups v5, OffsetFetch v8+ for hundreds of
groups in one request, and the KIP-848/KIP-932/KIP-1071 describe APIs answering per group."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaClient
from aiokafka.errors import (
    GroupIdNotFound,
    IncompatibleBrokerVersion,
    InvalidGroupIdError,
    KafkaError,
    NodeNotReadyError,
    UnsupportedVersionError,
)

from exporter.cli.demo.broker import TansuBroker
from exporter.collectors.kafka.protocol.api_versions import node_versions
from exporter.collectors.kafka.protocol.group_describe import (
    ConsumerGroupDescribeRequest,
    GroupDescription,
    ShareGroupDescribeRequest,
    StreamsGroupDescribeRequest,
    decode_group_describe,
)
from exporter.collectors.kafka.protocol.list_groups import (
    ListedGroup,
    ListGroupsRequest,
    decode_list_groups,
)
from exporter.collectors.kafka.protocol.offset_fetch import (
    OffsetFetchGroupsRequest,
    decode_offset_fetch_groups,
)
from exporter.collectors.kafka.protocol.share_offsets import (
    DescribeShareGroupOffsetsRequest,
    SharePartitionOffset,
    decode_share_group_offsets,
)
from tests.support.group_clients import (
    JavaGroupMembers,
    ShareMembers,
    describe_group,
    share_group_offsets,
)
from tests.support.kafka_cluster import Broker, KafkaCluster
from tests.support.kafka_helpers import commit, commit_many, create_topics, produce, unique
from tests.support.kafka_jars import KAFKA_4
from tests.support.record_group_responses import classic_member
from tests.support.streams_app import StreamsApp

KEYS = (9, 16, 69, 77, 89, 90)
OFFERED = {
    "4": {9: (1, 10), 16: (0, 5), 69: (0, 1), 77: (1, 1), 89: (0, 1), 90: (0, 1)},
    "3": {9: (0, 9), 16: (0, 5), 69: (0, 0)},
    "tansu": {9: (0, 9), 16: (0, 5), 69: (0, 0)},
}
"""Versions of OffsetFetch, ListGroups and the KIP-848/932/1071 APIs per target."""
DESCRIBES = [(ConsumerGroupDescribeRequest, "consumer"), (ShareGroupDescribeRequest, "share"),
             (StreamsGroupDescribeRequest, "streams")]  # fmt: skip


def target(broker: Broker) -> str:
    """ "4", "3" (the Kafka major) or "tansu"."""
    return broker.version.split(".")[0] if isinstance(broker, KafkaCluster) else "tansu"


@contextlib.asynccontextmanager
async def connected(bootstrap: str) -> AsyncIterator[tuple[AIOKafkaClient, int]]:
    """A bootstrapped client and the node id of the (single) broker."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    try:
        await asyncio.wait_for(client.bootstrap(), 30)
        yield client, next(iter(client.cluster.brokers())).nodeId
    finally:
        await client.close()


async def test_node_versions_show_what_each_broker_offers(any_broker: Broker) -> None:
    async with connected(any_broker.bootstrap) as (client, node):
        versions = await node_versions(client, node)
        assert {key: versions[key] for key in KEYS if key in versions} == OFFERED[
            target(any_broker)
        ]
        with pytest.raises(NodeNotReadyError):
            await node_versions(client, 4242)


async def test_list_groups_v5_lists_classic_groups_with_type_classic(kafka4: KafkaCluster) -> None:
    prefix = unique("lg")
    topic = f"{prefix}-t"
    await create_topics(kafka4.bootstrap, {topic: 2})
    await commit(kafka4.bootstrap, f"{prefix}-committed", {(topic, 0): 1})
    async with (
        classic_member(kafka4.bootstrap, f"{prefix}-live", topic),
        connected(kafka4.bootstrap) as (client, node),
    ):
        request = ListGroupsRequest()
        assert request.prepare(await node_versions(client, node)).API_VERSION == 5
        listed = decode_list_groups(await client.send(node, request))
    mine = sorted((g for g in listed if g.group_id.startswith(prefix)), key=lambda g: g.group_id)
    assert mine == [
        ListedGroup(f"{prefix}-committed", "", "Empty", "classic"),
        ListedGroup(f"{prefix}-live", "consumer", "Stable", "classic"),
    ]


async def test_offset_fetch_answers_300_groups_in_one_request(any_broker: Broker) -> None:
    prefix = unique("of")
    topics = {f"{prefix}-a": 3, f"{prefix}-b": 2}
    await create_topics(any_broker.bootstrap, topics)
    groups = [f"{prefix}-g{i:03d}" for i in range(300)]
    committed = {
        group: {(f"{prefix}-a", i % 3): i + 1, **({(f"{prefix}-b", 1): 1000 + i} if i % 2 else {})}
        for i, group in enumerate(groups)
    }
    await commit_many(any_broker.bootstrap, committed)
    asked = [*groups, f"{prefix}-never"]
    async with connected(any_broker.bootstrap) as (client, node):
        request = OffsetFetchGroupsRequest(asked)
        assert request.prepare(await node_versions(client, node)).API_VERSION == 9
        found = decode_offset_fetch_groups(await client.send(node, request), asked)
    assert found == {**committed, f"{prefix}-never": {}}


async def test_describes_of_classic_unknown_or_invalid_groups_answer_per_group(
    kafka4: KafkaCluster,
) -> None:
    prefix = unique("cd")
    await create_topics(kafka4.bootstrap, {f"{prefix}-t": 1})
    classic, unknown = f"{prefix}-classic", f"{prefix}-unknown"
    await commit(kafka4.bootstrap, classic, {(f"{prefix}-t", 0): 2})
    async with connected(kafka4.bootstrap) as (client, node):
        for make, kind in DESCRIBES:
            asked = [classic, unknown, ""]
            found = decode_group_describe(await client.send(node, make(asked)), asked)
            errors = {
                group: (type(e), e.args) for group, e in found.items() if isinstance(e, KafkaError)
            }
            assert errors == {
                classic: (GroupIdNotFound, (f"Group {classic} is not a {kind} group.",)),
                unknown: (GroupIdNotFound, (f"Group {unknown} not found.",)),
                "": (
                    InvalidGroupIdError,
                    (f"{make.__name__.removesuffix('Request')} failed for group ",),
                ),
            }
        asked = [classic, unknown]
        response = await client.send(node, DescribeShareGroupOffsetsRequest(asked))
        assert decode_share_group_offsets(response, asked) == {classic: {}, unknown: {}}


@pytest.mark.parametrize("name", ["kafka3", "tansu"])
async def test_older_brokers_lack_share_and_streams_apis(
    name: str, request: pytest.FixtureRequest
) -> None:
    broker: KafkaCluster | TansuBroker = request.getfixturevalue(name)
    group = unique("old")
    async with connected(broker.bootstrap) as (client, node):
        assert not {77, 89, 90} & set(await node_versions(client, node))
        for make in (ShareGroupDescribeRequest, StreamsGroupDescribeRequest,
                     DescribeShareGroupOffsetsRequest):  # fmt: skip
            with pytest.raises(IncompatibleBrokerVersion):
                await client.send(node, make([group]))
        found = decode_group_describe(
            await client.send(node, ConsumerGroupDescribeRequest([group])), [group]
        )
    if name == "kafka3":  # KIP-848 is off on 3.9 by default: each group answers UNSUPPORTED_VERSION
        assert isinstance(found[group], UnsupportedVersionError)
    else:  # Tansu describes any group as an empty consumer group
        assert found == {group: GroupDescription("Empty", 0)}


# Live groups of the new types on Kafka 4.4, made by real Java clients.


async def _ask(bootstrap: str, request: Any) -> Any:
    async with connected(bootstrap) as (client, node):
        return await client.send(node, request)


def ask(bootstrap: str, request: Any) -> Any:
    """`request`'s response from the (single) broker, in a loop of its own (the Java clients'
    helpers block)."""
    return asyncio.run(_ask(bootstrap, request))


def others(asked: list[str], mine: str, kind: str) -> dict[str, Any]:
    """What a describe API of type `kind` answers for the groups of other types."""
    return {
        g: (GroupIdNotFound, (f"Group {g} is not a {kind} group.",)) for g in asked if g != mine
    }


def plain(found: dict[str, Any]) -> dict[str, Any]:
    return {g: (type(a), a.args) if isinstance(a, KafkaError) else a for g, a in found.items()}


def listed(bootstrap: str, group: str) -> ListedGroup:
    (found,) = [
        g for g in decode_list_groups(ask(bootstrap, ListGroupsRequest())) if g.group_id == group
    ]
    return found


def test_a_kip848_consumer_group_is_described_listed_and_fetched(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    prefix = unique("kip848")
    topic, group, classic = f"{prefix}-t", f"{prefix}-g", f"{prefix}-classic"
    asyncio.run(create_topics(kafka4.bootstrap, {topic: 3}))
    asyncio.run(commit(kafka4.bootstrap, classic, {(topic, 0): 1}))
    with JavaGroupMembers(
        KAFKA_4, kafka4.bootstrap, "consumer", group, topic, 2, tmp_path, commit_at=4
    ):
        assert listed(kafka4.bootstrap, group) == ListedGroup(
            group, "consumer", "Stable", "consumer"
        )
        asked = [group, classic]
        found = decode_group_describe(
            ask(kafka4.bootstrap, ConsumerGroupDescribeRequest(asked)), asked
        )
        assert plain(found) == {
            group: GroupDescription("Stable", 2),
            **others(asked, group, "consumer"),
        }
        fetched = decode_offset_fetch_groups(
            ask(kafka4.bootstrap, OffsetFetchGroupsRequest(asked)), asked
        )
        assert fetched == {group: {(topic, p): 4 for p in range(3)}, classic: {(topic, 0): 1}}


def test_a_share_group_is_described_listed_and_its_offsets_read(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    prefix = unique("share")
    topic, group = f"{prefix}-t", f"{prefix}-g"
    asyncio.run(create_topics(kafka4.bootstrap, {topic: 1}))
    asyncio.run(produce(kafka4.bootstrap, topic, {0: 6}))
    with ShareMembers(KAFKA_4, kafka4.bootstrap, group, topic, 1, tmp_path, ack=4):
        # ListGroups v5 with an empty TypesFilter lists share groups too
        assert listed(kafka4.bootstrap, group) == ListedGroup(group, "share", "Stable", "share")
        asked = [group, f"{prefix}-unknown"]
        found = decode_group_describe(
            ask(kafka4.bootstrap, ShareGroupDescribeRequest(asked)), asked
        )
        assert found[group] == GroupDescription("Stable", 1)
        offsets = decode_share_group_offsets(
            ask(kafka4.bootstrap, DescribeShareGroupOffsetsRequest(asked)), asked
        )
        java = share_group_offsets(KAFKA_4, kafka4.bootstrap, group)
        # 4 of 6 records accepted, the rest released: whatever the delivery order, 2 records are
        # not delivery-complete (the lag); the start offset is the first of them
        ((start, lag),) = [(p["start_offset"], p["lag"]) for p in java.values()]
        assert lag == 2 and start is not None and 0 <= start <= 4, java
        assert offsets == {
            group: {(topic, 0): SharePartitionOffset(start, 2)},
            f"{prefix}-unknown": {},
        }


def test_a_streams_group_is_described_and_listed(kafka4: KafkaCluster, tmp_path: Path) -> None:
    prefix = unique("streams")
    source, sink, group = f"{prefix}-in", f"{prefix}-out", f"{prefix}-app"
    asyncio.run(create_topics(kafka4.bootstrap, {source: 2, sink: 1}))
    with StreamsApp(
        KAFKA_4, kafka4.bootstrap, group, (source, sink), tmp_path, group_protocol="streams"
    ) as app:
        app.wait_state("RUNNING", 60)
        asked = [group, f"{prefix}-unknown"]
        deadline = time.monotonic() + 60
        while True:
            found = decode_group_describe(
                ask(kafka4.bootstrap, StreamsGroupDescribeRequest(asked)), asked
            )
            if found[group] == GroupDescription("Stable", 1) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert found[group] == GroupDescription("Stable", 1)
        assert isinstance(found[f"{prefix}-unknown"], GroupIdNotFound)
        assert listed(kafka4.bootstrap, group) == ListedGroup(group, "streams", "Stable", "streams")
        java = describe_group(KAFKA_4, kafka4.bootstrap, group, "streams")
        assert (java["state"], java["members"]) == ("Stable", 1)

"""The group side of a read: groups listed on every broker (with their types), described per
coordinator through the API of their type, committed offsets fetched for many groups per request,
share groups' offsets and lag; all under a bounded concurrency."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.protocol.api_versions import ApiVersions, speaks, supports
from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.protocol.share_offsets import DescribeShareGroupOffsetsRequest
from exporter.collectors.kafka.read import broker_features
from exporter.collectors.kafka.read.committed_offsets import (
    GROUPS_VERSION,
    OFFSET_FETCH_API,
    OFFSET_FETCH_BATCH,
    CommittedOffsets,
    explicit_partitions,
)
from exporter.collectors.kafka.read.concurrency import all_or_cancel
from exporter.collectors.kafka.read.group_describe import (
    NEW_DESCRIBE_APIS,
    Descriptions,
    GroupDescriber,
)
from exporter.collectors.kafka.read.group_listing import CLASSIC, SHARE, Listing, list_groups
from exporter.collectors.kafka.read.share_reads import (
    SHARE_OFFSETS_BATCH,
    ShareOffsets,
    fetch_share_offsets,
)
from exporter.collectors.kafka.read.topics import Offsets, RawPartitions
from exporter.collectors.kafka.state import GroupInfo, ShareGroupInfo

log = logging.getLogger(__name__)
T = TypeVar("T")
V = TypeVar("V")


@dataclass(frozen=True)
class GroupDetails:
    """What one read learnt about the listed groups."""

    descriptions: Descriptions
    offsets: dict[str, Offsets]
    share_offsets: dict[str, ShareOffsets]


class GroupReads:
    """Reads the groups of one cluster and keeps what the reads learn between them."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.describer = GroupDescriber(config.name, config.members)
        self.committed = CommittedOffsets(config.name)
        self.offset_fetch_batch = OFFSET_FETCH_BATCH
        """Groups per batched OffsetFetch (bench/ measures others)."""
        self._features = broker_features.FeatureLog()
        """What the brokers offer, as last logged."""

    def forget_brokers(self) -> None:
        """A new client: what the brokers support is to be probed (and said) again."""
        self.describer.forget_brokers()
        self.committed.forget_brokers()

    def remember(self, groups: dict[str, GroupInfo]) -> None:
        """End of a successful read: keep its offsets, forget the groups gone."""
        self.committed.remember({group: info.offsets for group, info in groups.items()})

    async def listing(self, send: Send, node_ids: list[int]) -> Listing:
        """Every group that passes the filter, with its coordinator and type."""
        return await list_groups(send, node_ids, self.config)

    def announce(self, versions: dict[int, ApiVersions]) -> None:
        """One line saying what the brokers offer and leave out, when it changes."""
        line = self._features.changed(versions.values())
        if line is not None:
            log.info("%s: %s", self.config.name, line)

    async def probe_brokers(
        self,
        send: Send,
        listing: Listing,
        topics: RawPartitions,
        versions: dict[int, ApiVersions],
    ) -> None:
        """Learn, alone, what some brokers (Tansu) get wrong: their failure closes the
        connection, which would fail every request in flight with it."""
        committing = [(g, e.node) for g, e in listing.items() if e.type != SHARE]
        if committing:
            group, node = committing[0]
            batched = supports(versions.get(node, {}), OFFSET_FETCH_API, GROUPS_VERSION)
            await self.committed.probe(send, node, group, topics, batched)
        by_node: dict[int, list[str]] = defaultdict(list)
        for group, entry in listing.items():
            if entry.type == CLASSIC:
                by_node[entry.node].append(group)
        for node, classic in by_node.items():
            if len(classic) > 1:
                await self.describer.probe_batch_describe(send, node, classic)
                break

    async def details(
        self,
        send: Send,
        listing: Listing,
        topics: RawPartitions,
        versions: dict[int, ApiVersions],
    ) -> GroupDetails:
        """Descriptions, committed offsets and share offsets of the listed groups, at most
        `max_concurrency` requests in flight."""
        limit = asyncio.Semaphore(self.config.max_concurrency)

        async def bounded(request: Callable[[], Awaitable[T]]) -> T:
            async with limit:  # the request is made only now: a cancel before leaves none
                return await request()

        def gather(calls: list[Callable[[], Awaitable[T]]]) -> Awaitable[list[T]]:
            return asyncio.gather(*(bounded(call) for call in calls))

        describes, fetches, single, shares = self._plan(send, listing, topics, versions)
        described, fetched, fetched_one, shared = await all_or_cancel(
            gather(describes), gather(fetches), gather([c for _, c in single]), gather(shares)
        )
        descriptions: Descriptions = {}
        for answer in described:
            descriptions.update(answer)
        offsets: dict[str, Offsets] = {}
        for answer in fetched:
            offsets.update(answer)
        for (group, _), found in zip(single, fetched_one, strict=True):
            if found is not None:
                offsets[group] = found
        share_offsets: dict[str, ShareOffsets] = {}
        for answer in shared:
            share_offsets.update(answer)
        dropped = _keep_known(offsets, topics) + _keep_known(share_offsets, topics)
        if dropped:
            log.debug(
                "%s: %d offset(s) of partitions the metadata does not have or the topics filter "
                "leaves out were dropped",
                self.config.name,
                dropped,
            )
        return GroupDetails(descriptions, offsets, share_offsets)

    def _plan(
        self,
        send: Send,
        listing: Listing,
        topics: RawPartitions,
        versions: dict[int, ApiVersions],
    ) -> tuple[
        list[Callable[[], Awaitable[Descriptions]]],
        list[Callable[[], Awaitable[dict[str, Offsets]]]],
        list[tuple[str, Callable[[], Awaitable[Offsets | None]]]],
        list[Callable[[], Awaitable[dict[str, ShareOffsets]]]],
    ]:
        """The requests of one read: describes per (coordinator, type) batch, batched and
        single-group offset fetches, share-offset batches."""
        by_type: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        fetch_batches: dict[int, list[str]] = defaultdict(list)
        share_batches: dict[int, list[str]] = defaultdict(list)
        single: list[tuple[str, Callable[[], Awaitable[Offsets | None]]]] = []
        explicit = explicit_partitions(topics)
        fetch_many = self.committed.null_offset_fetch is not False
        for group, entry in listing.items():
            node, offered = entry.node, versions.get(entry.node, {})
            group_type = entry.type
            if group_type in NEW_DESCRIBE_APIS and not speaks(
                offered, NEW_DESCRIBE_APIS[group_type]
            ):
                group_type = CLASSIC  # not this broker's API: DescribeGroups says what it can
            by_type[group_type][node].append(group)
            if entry.type == SHARE:
                if speaks(offered, DescribeShareGroupOffsetsRequest):
                    share_batches[node].append(group)
            elif fetch_many and supports(offered, OFFSET_FETCH_API, GROUPS_VERSION):
                fetch_batches[node].append(group)
            else:
                call = partial(self.committed.fetch_one, send, node, group, explicit)
                single.append((group, call))
        describes: list[Callable[[], Awaitable[Descriptions]]] = [
            partial(self.describer.describe, send, node, group_type, batch)
            for group_type, by_node in by_type.items()
            for node, batch in _chunks(by_node, self.describer.batch_size(group_type))
        ]
        fetches: list[Callable[[], Awaitable[dict[str, Offsets]]]] = [
            partial(self.committed.fetch_batch, send, node, batch)
            for node, batch in _chunks(fetch_batches, self.offset_fetch_batch)
        ]
        shares: list[Callable[[], Awaitable[dict[str, ShareOffsets]]]] = [
            partial(fetch_share_offsets, send, node, batch, self.config.name)
            for node, batch in _chunks(share_batches, SHARE_OFFSETS_BATCH)
        ]
        return describes, fetches, single, shares

    def infos(
        self, listing: Listing, details: GroupDetails
    ) -> tuple[dict[str, GroupInfo], dict[str, ShareGroupInfo]]:
        """The groups and share groups to report (with `only_active`, those with members)."""
        groups: dict[str, GroupInfo] = {}
        shares: dict[str, ShareGroupInfo] = {}
        for group, entry in listing.items():
            described = details.descriptions.get(group)
            state = described.state if described is not None else None
            members = described.members if described is not None else None
            if self.config.groups.only_active and members == 0:
                continue
            if entry.type == SHARE:
                found = details.share_offsets.get(group, {})
                shares[group] = ShareGroupInfo(members=members, state=state, partitions=found)
                continue
            groups[group] = GroupInfo(
                members=members,
                state=state,
                # in order once here: the four per-series loops of a refresh each sort it again
                offsets=dict(sorted(details.offsets.get(group, {}).items())),
                type=entry.type,
                protocol_type=entry.protocol_type,
                member_details=described.details if described is not None else (),
            )
        return groups, shares


def _keep_known(by_group: dict[str, dict[tuple[str, int], V]], topics: RawPartitions) -> int:
    """Keep, in place, only the partitions `topics` has (the metadata's, as the topics filter
    selects them), for every group type alike; the number of partitions dropped."""
    dropped = 0
    for group, found in by_group.items():
        known = {key: v for key, v in found.items() if key[1] in topics.get(key[0], ())}
        if len(known) != len(found):
            dropped += len(found) - len(known)
            by_group[group] = known
    return dropped


def _chunks(by_node: dict[int, list[str]], size: int) -> list[tuple[int, list[str]]]:
    """(node, up to `size` groups) per request."""
    return [
        (node, groups[i : i + size])
        for node, groups in by_node.items()
        for i in range(0, len(groups), size)
    ]

"""The group side of a read: ListGroups on every broker (the broker that lists a group is its
coordinator), DescribeGroups batched per coordinator, OffsetFetch per group under a bounded
concurrency; and what is learnt across reads about the brokers and the groups."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from aiokafka.errors import KafkaConnectionError, KafkaError

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read import protocol
from exporter.collectors.kafka.read.concurrency import all_or_cancel
from exporter.collectors.kafka.read.protocol import Send
from exporter.collectors.kafka.read.topics import Offsets, RawPartitions
from exporter.collectors.kafka.state import GroupInfo

log = logging.getLogger(__name__)
T = TypeVar("T")
Descriptions = dict[str, tuple[str, int]]
"""group -> (state, members) from DescribeGroups."""

DESCRIBE_BATCH = 100
"""Groups per DescribeGroups request (where the brokers answer batches well-formed)."""
RESCAN_EVERY = 10
"""Where OffsetFetch must name partitions (the broker refuses a null topic list), a known group is
asked only for the topics it had commits on, and for every partition of every topic once every
RESCAN_EVERY reads; the groups take turns (by a hash of the name), so no read rescans them all.
New groups are asked for everything at once; what they answer is remembered even when the read
then fails or times out, so a first read too big for the timeout converges over the next ones."""


class GroupReads:
    """Reads the groups of one cluster and keeps what the reads learn between them."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.null_offset_fetch: bool | None = None
        """Whether OffsetFetch for all partitions (null topic list) works; None: not known yet."""
        self.batch_describe: bool | None = None
        """Whether batched DescribeGroups answers are well-formed; None: not known yet."""
        self.previous: dict[str, GroupInfo] = {}
        """The groups of the last successful read (their offsets stand in for a refused fetch)."""
        self.group_topics: dict[str, frozenset[str]] = {}
        """Topics each group had commits on at its last answer (for explicit OffsetFetch)."""
        self.reads = 0
        """Successful reads so far (whose turn it is to rescan)."""

    def forget_brokers(self) -> None:
        """A new client: what the brokers support is to be probed again."""
        self.null_offset_fetch = None
        self.batch_describe = None

    def remember(self, groups: dict[str, GroupInfo]) -> None:
        """End of a successful read: keep its groups, forget the groups gone."""
        self.previous = groups
        self.group_topics = {
            group: self.group_topics.get(group, frozenset()) for group in groups
        }  # each answer updated its group's entry as it came
        self.reads += 1

    async def coordinators(self, send: Send, node_ids: list[int]) -> dict[str, int]:
        """group -> coordinating broker, for the groups that pass the filter."""
        listed = await all_or_cancel(*(self._list_groups(send, n) for n in node_ids))
        if node_ids and all(groups is None for groups in listed):
            raise KafkaConnectionError(f"ListGroups failed on every broker ({node_ids})")
        return {
            group: node
            for node, groups in zip(node_ids, listed, strict=True)
            for group in groups or ()
            if self.config.groups.matches(group)
        }

    async def probe_brokers(
        self, send: Send, coordinators: dict[str, int], topics: RawPartitions
    ) -> None:
        """Learn, alone, what some brokers (Tansu) get wrong: their failure closes the
        connection, which would fail every request in flight with it."""
        if self.null_offset_fetch is None and coordinators:
            group, node = next(iter(coordinators.items()))
            explicit = {topic: sorted(parts) for topic, parts in topics.items()}
            await self._probe_null_offset_fetch(send, node, group, explicit)
        if self.batch_describe is None and len(coordinators) > 1:
            await self._probe_batch_describe(send, coordinators)

    async def details(
        self, send: Send, coordinators: dict[str, int], topics: RawPartitions
    ) -> tuple[Descriptions, dict[str, Offsets]]:
        """Descriptions and committed offsets of the groups, at most `max_concurrency` requests
        in flight."""
        limit = asyncio.Semaphore(self.config.max_concurrency)

        async def bounded(request: Callable[[], Awaitable[T]]) -> T:
            async with limit:  # the request is made only now: a cancel before leaves none
                return await request()

        by_node: dict[int, list[str]] = defaultdict(list)
        for group, node in coordinators.items():
            by_node[node].append(group)
        size = DESCRIBE_BATCH if self.batch_describe is not False else 1  # 1: all in parallel
        describe_batches = [
            (node, groups[i : i + size])
            for node, groups in by_node.items()
            for i in range(0, len(groups), size)
        ]
        explicit = {topic: sorted(parts) for topic, parts in topics.items()}
        turn = self.reads % RESCAN_EVERY

        def asked(group: str) -> dict[str, list[int]]:
            rescan = zlib.crc32(group.encode()) % RESCAN_EVERY == turn
            known = None if rescan else self.group_topics.get(group)
            only = {t: explicit[t] for t in known or () if t in explicit}
            return only or explicit

        described, fetched = await all_or_cancel(
            asyncio.gather(
                *(
                    bounded(partial(self._describe, send, node, batch))
                    for node, batch in describe_batches
                )
            ),
            asyncio.gather(
                *(
                    bounded(partial(self._offsets, send, node, group, asked(group)))
                    for group, node in coordinators.items()
                )
            ),
        )
        descriptions: Descriptions = {}
        for answer in described:
            descriptions.update(answer)
        offsets = {
            group: found
            for group, found in zip(coordinators, fetched, strict=True)
            if found is not None
        }
        return descriptions, offsets

    def infos(
        self,
        coordinators: dict[str, int],
        descriptions: Descriptions,
        offsets: dict[str, Offsets],
    ) -> dict[str, GroupInfo]:
        """The groups to report (with `only_active`, those with members)."""
        groups = {}
        for group in coordinators:
            state, members = descriptions.get(group, (None, None))
            if self.config.groups.only_active and members == 0:
                continue
            groups[group] = GroupInfo(members=members, state=state, offsets=offsets.get(group, {}))
        return groups

    async def _list_groups(self, send: Send, node: int) -> list[str] | None:
        """Groups coordinated by `node`; None (after a warning) when it cannot answer.

        A broker still in the metadata but down (crashed, not yet fenced by the controller), or
        still loading its group coordinator after a restart, leaves out only its own groups.
        """
        try:
            response = await send(node, protocol.list_groups_request())
            return protocol.decode_list_groups(response)
        except KafkaError as exc:
            log.warning(
                "%s: ListGroups failed on broker %s (%r); its groups are left out this refresh",
                self.config.name,
                node,
                exc,
            )
            return None

    async def _probe_batch_describe(self, send: Send, coordinators: dict[str, int]) -> None:
        """Learn whether a batched DescribeGroups comes back well-formed."""
        node = next(iter(coordinators.values()))
        groups = [g for g, n in coordinators.items() if n == node][:2]
        if len(groups) < 2:
            return
        try:
            response = await send(node, protocol.describe_groups_request(groups))
            protocol.decode_describe_groups(response, groups)
            self.batch_describe = True
        except (protocol.MalformedResponse, KafkaConnectionError) as exc:
            log.info(
                "%s: batched DescribeGroups fails (%s); describing one group per request",
                self.config.name,
                exc,
            )
            self.batch_describe = False

    async def _describe(self, send: Send, node: int, groups: list[str]) -> Descriptions:
        """Describe `groups`, batched; one group per request when the broker garbles batches."""
        if self.batch_describe is not False and len(groups) > 1:
            response = await send(node, protocol.describe_groups_request(groups))
            try:
                return self._described(protocol.decode_describe_groups(response, groups), groups)
            except protocol.MalformedResponse as exc:
                log.warning("%s: batched DescribeGroups is malformed: %s", self.config.name, exc)
        out: Descriptions = {}
        for group in groups:
            response = await send(node, protocol.describe_groups_request([group]))
            try:
                out.update(
                    self._described(protocol.decode_describe_groups(response, [group]), [group])
                )
            except protocol.MalformedResponse as exc:
                log.warning("%s: cannot describe group %s: %s", self.config.name, group, exc)
        return out

    def _described(self, found: Descriptions, asked: list[str]) -> Descriptions:
        """`found`, after logging the groups the broker answered with an error."""
        failed = [g for g in asked if g not in found]
        if failed:
            log.warning(
                "%s: DescribeGroups returned an error for %d group(s), e.g. %s; their members are"
                " not reported this refresh",
                self.config.name,
                len(failed),
                failed[0],
            )
        return found

    async def _probe_null_offset_fetch(
        self, send: Send, node: int, group: str, explicit: dict[str, list[int]]
    ) -> None:
        """Learn whether OffsetFetch with a null topic list works (KIP-88); Tansu drops the link."""
        try:
            await send(node, protocol.offset_fetch_request(group, None))
            self.null_offset_fetch = True
        except KafkaConnectionError:
            await send(node, protocol.offset_fetch_request(group, explicit))
            log.info(
                "%s: broker refuses OffsetFetch for all partitions; naming partitions instead",
                self.config.name,
            )
            self.null_offset_fetch = False

    async def _offsets(
        self, send: Send, node: int, group: str, explicit: dict[str, list[int]]
    ) -> Offsets | None:
        """Committed offsets of one group; the previous ones (with a warning) when refused."""
        partitions = None if self.null_offset_fetch else explicit
        try:
            request = protocol.offset_fetch_request(group, partitions)
            found = protocol.decode_offset_fetch(await send(node, request))
        except KafkaConnectionError:
            raise
        except KafkaError as exc:
            log.warning("%s: cannot fetch offsets of group %s: %s", self.config.name, group, exc)
            previous = self.previous.get(group)
            return previous.offsets if previous is not None else None
        # Learnt at once, not at the end of the read: when a read with many new groups outlives
        # its timeout, the next one asks the groups answered so far only for their topics.
        self.group_topics[group] = frozenset(topic for topic, _ in found)
        return found

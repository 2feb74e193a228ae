"""Reads one Kafka cluster with aiokafka's protocol client.

Per refresh: one Metadata request, ListGroups to every broker (the broker that lists a group is its
coordinator), ListOffsets latest+earliest batched per partition leader, DescribeGroups batched per
coordinator, and OffsetFetch per group under a bounded concurrency. The client and its connections
live between refreshes and are rebuilt after a failure. Where OffsetFetch must name partitions,
known groups are asked only for the topics they had commits on, with periodic full rescans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.protocol.api import Request, Response

from exporter.collectors.kafka import errors, protocol
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.state import ClusterState, GroupInfo, PartitionInfo

log = logging.getLogger(__name__)
T = TypeVar("T")
DESCRIBE_BATCH = 100
RESCAN_EVERY = 10
"""Where OffsetFetch must name partitions (the broker refuses a null topic list), a known group is
asked only for the topics it had commits on, and for every partition of every topic once every
RESCAN_EVERY reads; the groups take turns (by a hash of the name), so no read rescans them all.
New groups are asked for everything at once; what they answer is remembered even when the read
then fails or times out, so a first read too big for the timeout converges over the next ones."""


class ClusterReader:
    """Long-lived connection to one cluster; `read()` does one refresh."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.requests: Counter[str] = Counter()
        """Requests sent, by API name (for benchmarks and debugging)."""
        self._client: AIOKafkaClient | None = None
        self._null_offset_fetch: bool | None = None
        """Whether OffsetFetch for all partitions (null topic list) works; None: not known yet."""
        self._batch_describe: bool | None = None
        """Whether batched DescribeGroups answers are well-formed; None: not known yet."""
        self._previous: dict[str, GroupInfo] = {}
        self._group_topics: dict[str, frozenset[str]] = {}
        """Topics each group had commits on at its last answer (for explicit OffsetFetch)."""
        self._reads = 0
        self._cleanups: set[asyncio.Future[None]] = set()
        """Clients of cancelled bootstraps, closing once their bootstrap has ended."""

    async def read(self) -> ClusterState:
        """Read brokers, topics, watermarks, groups and committed offsets."""
        before, started = self.requests.copy(), time.monotonic()
        try:
            client = await self._connect()
            state = await self._read(client)
        except BaseException:
            await self.close()
            raise
        self._previous = state.groups
        self._group_topics = {
            group: self._group_topics.get(group, frozenset()) for group in state.groups
        }  # groups gone are forgotten; each answer updated its group's entry as it came
        self._reads += 1
        if log.isEnabledFor(logging.DEBUG):
            sent = dict(sorted((self.requests - before).items()))
            log.debug(
                "%s: requests this read: %s",
                self.config.name,
                sent,
                extra={
                    "collector": self.config.name,
                    "requests_total": dict(self.requests),
                    "read_s": time.monotonic() - started,
                },
            )
        return state

    async def close(self) -> None:
        """Close the client; the next `read()` reconnects. Clients of cancelled bootstraps get
        two seconds to end theirs and close."""
        if self._cleanups:
            _, late = await asyncio.wait(self._cleanups, timeout=2.0)
            for cleanup in late:
                cleanup.cancel()
        client, self._client = self._client, None
        if client is not None:
            try:
                await asyncio.wait_for(client.close(), 2.0)
            except (asyncio.TimeoutError, KafkaError, OSError) as exc:
                log.debug("closing kafka client of %s: %r", self.config.name, exc)

    async def _connect(self) -> AIOKafkaClient:
        if self._client is not None:
            return self._client
        cfg = self.config
        ssl_context = None
        if cfg.security_protocol in ("SSL", "SASL_SSL"):
            ssl_context = errors.tls_context(cfg)
        client = AIOKafkaClient(
            bootstrap_servers=cfg.bootstrap_servers,
            client_id="kafka-health-exporter",
            request_timeout_ms=int(cfg.timeout * 1000),
            security_protocol=cfg.security_protocol,
            ssl_context=ssl_context,
            sasl_mechanism=cfg.sasl_mechanism or "PLAIN",
            sasl_plain_username=cfg.sasl_username,
            sasl_plain_password=cfg.sasl_password,
        )
        bootstrap = asyncio.ensure_future(client.bootstrap())
        try:
            await asyncio.shield(bootstrap)
        except asyncio.CancelledError:
            # aiokafka leaks its bootstrap connection when the bootstrap is cancelled mid-request
            # (a reload replacing a collector, a refresh timeout): let it end by itself, bounded
            # by the request timeout, and close the client then.
            cleanup = asyncio.ensure_future(_close_after(bootstrap, client))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)
            raise
        except BaseException as exc:
            await asyncio.shield(client.close())
            if isinstance(exc, KafkaConnectionError):  # "Unable to bootstrap": find out why
                explained = await errors.explain_bootstrap_failure(cfg, ssl_context, client.hosts)
                if explained is not None:
                    raise explained from exc
            raise
        self._client = client
        self._null_offset_fetch = None
        self._batch_describe = None
        return client

    async def send(self, node: int, request: Request) -> Response:
        """Send one request to broker `node` through the long-lived client (connecting if needed).

        For the collector's extra reads after `read()`, e.g. the records at committed offsets.
        """
        return await self._send(await self._connect(), node, request)

    async def _send(self, client: AIOKafkaClient, node: int, request: Request) -> Response:
        self.requests[type(request).__name__.removesuffix("Request")] += 1
        return await client.send(node, request)

    async def _read(self, client: AIOKafkaClient) -> ClusterState:
        cfg = self.config
        # Any broker can answer Metadata: one that is down (still in the client's metadata, or the
        # first bootstrap server) must not fail the refresh while another one answers.
        known = [b.nodeId for b in client.cluster.brokers()]
        metadata, failure = None, None
        for node in dict.fromkeys(n for n in [client.get_random_node(), *known] if n is not None):
            try:
                metadata = await self._send(client, node, protocol.metadata_request())
                break
            except KafkaError as exc:
                failure = exc
        if metadata is None:
            raise failure or KafkaConnectionError("no broker known to ask for metadata")
        # The client connects to node ids through its own metadata, refreshed only every few
        # minutes: without this, a broker that came back (or a new one) fails every request to it.
        client.cluster.update_metadata(metadata)
        brokers, raw_topics = protocol.decode_metadata(metadata)
        topics = partitions_of(raw_topics, cfg.topics.matches)

        node_ids = [b.node_id for b in brokers]
        listed = await _all(*(self._list_groups(client, n) for n in node_ids))
        if node_ids and all(groups is None for groups in listed):
            raise KafkaConnectionError(f"ListGroups failed on every broker ({node_ids})")
        coordinators = {
            group: node
            for node, groups in zip(node_ids, listed, strict=True)
            for group in groups or ()
            if cfg.groups.matches(group)
        }
        # Probe alone what some brokers (Tansu) get wrong: their failure closes the connection,
        # which would fail every request in flight with it.
        if self._null_offset_fetch is None and coordinators:
            group, node = next(iter(coordinators.items()))
            explicit = {topic: sorted(parts) for topic, parts in topics.items()}
            await self._probe_null_offset_fetch(client, node, group, explicit)
        if self._batch_describe is None and len(coordinators) > 1:
            await self._probe_batch_describe(client, coordinators)
        if cfg.topic_metrics:
            (newest, oldest), (descriptions, offsets) = await _all(
                self._watermarks(client, topics, earliest=True),
                self._group_details(client, coordinators, topics),
            )
        else:  # lag only: newest offsets of the topics groups have committed on
            descriptions, offsets = await self._group_details(client, coordinators, topics)
            committed = {topic for found in offsets.values() for topic, _ in found}
            topics = {t: parts for t, parts in topics.items() if t in committed}
            newest, oldest = await self._watermarks(client, topics, earliest=False)
        topic_state = partition_infos(topics, newest, oldest)
        groups = {}
        for group in coordinators:
            state, members = descriptions.get(group, (None, None))
            if cfg.groups.only_active and members == 0:
                continue
            groups[group] = GroupInfo(members=members, state=state, offsets=offsets.get(group, {}))
        return ClusterState(brokers=tuple(brokers), topics=topic_state, groups=groups)

    async def _list_groups(self, client: AIOKafkaClient, node: int) -> list[str] | None:
        """Groups coordinated by `node`; None (after a warning) when it cannot answer.

        A broker still in the metadata but down (crashed, not yet fenced by the controller), or
        still loading its group coordinator after a restart, leaves out only its own groups.
        """
        try:
            response = await self._send(client, node, protocol.list_groups_request())
            return protocol.decode_list_groups(response)
        except KafkaError as exc:
            log.warning(
                "%s: ListGroups failed on broker %s (%r); its groups are left out this refresh",
                self.config.name,
                node,
                exc,
            )
            return None

    async def _watermarks(
        self, client: AIOKafkaClient, topics: dict[str, dict[int, dict[str, Any]]], earliest: bool
    ) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        """High (and with `earliest`, low) watermarks: one ListOffsets per leader and timestamp."""
        by_leader: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for topic, parts in topics.items():
            for number, meta in parts.items():
                if meta["leader"] >= 0:
                    by_leader[meta["leader"]][topic].append(number)

        async def ask(leader: int, timestamp: int) -> dict[tuple[str, int], int] | None:
            request = protocol.list_offsets_request(by_leader[leader], timestamp)
            try:
                return protocol.decode_list_offsets(await self._send(client, leader, request))
            except KafkaError as exc:  # a leader that is down: only its partitions lack offsets
                log.warning(
                    "%s: ListOffsets failed on broker %s (%r); its partitions have no offsets"
                    " this refresh",
                    self.config.name,
                    leader,
                    exc,
                )
                return None

        leaders = list(by_leader)
        timestamps = (protocol.LATEST, protocol.EARLIEST) if earliest else (protocol.LATEST,)
        found = await _all(*(ask(leader, ts) for ts in timestamps for leader in leaders))
        if found and all(answer is None for answer in found):
            raise KafkaConnectionError(f"ListOffsets failed on every leader ({leaders})")
        answers = [answer or {} for answer in found]
        newest: dict[tuple[str, int], int] = {}
        oldest: dict[tuple[str, int], int] = {}
        for answer in answers[: len(leaders)]:
            newest.update(answer)
        for answer in answers[len(leaders) :]:
            oldest.update(answer)
        return newest, oldest

    async def _group_details(
        self,
        client: AIOKafkaClient,
        coordinators: dict[str, int],
        topics: dict[str, dict[int, dict[str, Any]]],
    ) -> tuple[dict[str, tuple[str, int]], dict[str, dict[tuple[str, int], int]]]:
        limit = asyncio.Semaphore(self.config.max_concurrency)

        async def bounded(request: Callable[[], Awaitable[T]]) -> T:
            async with limit:  # the request is made only now: a cancel before leaves none
                return await request()

        by_node: dict[int, list[str]] = defaultdict(list)
        for group, node in coordinators.items():
            by_node[node].append(group)
        size = DESCRIBE_BATCH if self._batch_describe is not False else 1  # 1: all in parallel
        describe_batches = [
            (node, groups[i : i + size])
            for node, groups in by_node.items()
            for i in range(0, len(groups), size)
        ]
        explicit = {topic: sorted(parts) for topic, parts in topics.items()}
        turn = self._reads % RESCAN_EVERY

        def asked(group: str) -> dict[str, list[int]]:
            rescan = zlib.crc32(group.encode()) % RESCAN_EVERY == turn
            known = None if rescan else self._group_topics.get(group)
            only = {t: explicit[t] for t in known or () if t in explicit}
            return only or explicit

        described, fetched = await _all(
            asyncio.gather(
                *(
                    bounded(partial(self._describe, client, node, batch))
                    for node, batch in describe_batches
                )
            ),
            asyncio.gather(
                *(
                    bounded(partial(self._offsets, client, node, group, asked(group)))
                    for group, node in coordinators.items()
                )
            ),
        )
        descriptions: dict[str, tuple[str, int]] = {}
        for answer in described:
            descriptions.update(answer)
        offsets = {
            group: found
            for group, found in zip(coordinators, fetched, strict=True)
            if found is not None
        }
        return descriptions, offsets

    async def _probe_batch_describe(
        self, client: AIOKafkaClient, coordinators: dict[str, int]
    ) -> None:
        """Learn whether a batched DescribeGroups comes back well-formed."""
        node = next(iter(coordinators.values()))
        groups = [g for g, n in coordinators.items() if n == node][:2]
        if len(groups) < 2:
            return
        try:
            response = await self._send(client, node, protocol.describe_groups_request(groups))
            protocol.decode_describe_groups(response, groups)
            self._batch_describe = True
        except (protocol.MalformedResponse, KafkaConnectionError) as exc:
            log.info(
                "%s: batched DescribeGroups fails (%s); describing one group per request",
                self.config.name,
                exc,
            )
            self._batch_describe = False

    async def _describe(
        self, client: AIOKafkaClient, node: int, groups: list[str]
    ) -> dict[str, tuple[str, int]]:
        """Describe `groups`, batched; one group per request when the broker garbles batches."""
        if self._batch_describe is not False and len(groups) > 1:
            response = await self._send(client, node, protocol.describe_groups_request(groups))
            try:
                return self._described(protocol.decode_describe_groups(response, groups), groups)
            except protocol.MalformedResponse as exc:
                log.warning("%s: batched DescribeGroups is malformed: %s", self.config.name, exc)
        out: dict[str, tuple[str, int]] = {}
        for group in groups:
            response = await self._send(client, node, protocol.describe_groups_request([group]))
            try:
                out.update(
                    self._described(protocol.decode_describe_groups(response, [group]), [group])
                )
            except protocol.MalformedResponse as exc:
                log.warning("%s: cannot describe group %s: %s", self.config.name, group, exc)
        return out

    def _described(
        self, found: dict[str, tuple[str, int]], asked: list[str]
    ) -> dict[str, tuple[str, int]]:
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
        self, client: AIOKafkaClient, node: int, group: str, explicit: dict[str, list[int]]
    ) -> None:
        """Learn whether OffsetFetch with a null topic list works (KIP-88); Tansu drops the link."""
        try:
            await self._send(client, node, protocol.offset_fetch_request(group, None))
            self._null_offset_fetch = True
        except KafkaConnectionError:
            await self._send(client, node, protocol.offset_fetch_request(group, explicit))
            log.info(
                "%s: broker refuses OffsetFetch for all partitions; naming partitions instead",
                self.config.name,
            )
            self._null_offset_fetch = False

    async def _offsets(
        self, client: AIOKafkaClient, node: int, group: str, explicit: dict[str, list[int]]
    ) -> dict[tuple[str, int], int] | None:
        """Committed offsets of one group; the previous ones (with a warning) when refused."""
        partitions = None if self._null_offset_fetch else explicit
        try:
            request = protocol.offset_fetch_request(group, partitions)
            found = protocol.decode_offset_fetch(await self._send(client, node, request))
        except KafkaConnectionError:
            raise
        except KafkaError as exc:
            log.warning("%s: cannot fetch offsets of group %s: %s", self.config.name, group, exc)
            previous = self._previous.get(group)
            return previous.offsets if previous is not None else None
        # Learnt at once, not at the end of the read: when a read with many new groups outlives
        # its timeout, the next one asks the groups answered so far only for their topics.
        self._group_topics[group] = frozenset(topic for topic, _ in found)
        return found


def partition_infos(
    topics: dict[str, dict[int, dict[str, Any]]],
    newest: dict[tuple[str, int], int],
    oldest: dict[tuple[str, int], int],
) -> dict[str, dict[int, PartitionInfo]]:
    """Metadata partitions joined with their watermarks."""
    return {
        topic: {
            number: PartitionInfo(
                leader=meta["leader"],
                replicas=tuple(meta.get("replicas") or ()),
                isr=tuple(meta.get("isr") or ()),
                newest=newest.get((topic, number)),
                oldest=oldest.get((topic, number)),
            )
            for number, meta in parts.items()
        }
        for topic, parts in topics.items()
    }


def partitions_of(
    raw_topics: Iterable[dict[str, Any]], keep: Callable[[str], bool]
) -> dict[str, dict[int, dict[str, Any]]]:
    """topic -> partition -> metadata dict, for topics without error that pass the filter."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for topic in raw_topics:
        if topic["error_code"] or not keep(topic["topic"]):
            continue
        out[topic["topic"]] = {p["partition"]: p for p in topic["partitions"]}
    return out


async def _close_after(bootstrap: asyncio.Future[None], client: AIOKafkaClient) -> None:
    """Wait for `bootstrap` to end however it ends, then close `client`."""
    await asyncio.wait([bootstrap])
    if not bootstrap.cancelled():
        bootstrap.exception()  # retrieved: a failed bootstrap nobody waits for is no error
    with contextlib.suppress(KafkaError, OSError, asyncio.TimeoutError):
        await asyncio.wait_for(client.close(), 2.0)


async def _all(*requests: Awaitable[Any]) -> list[Any]:
    """Like `asyncio.gather`, but the first failure cancels the other requests before raising."""
    tasks = [asyncio.ensure_future(r) for r in requests]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise

"""Reads one Kafka cluster with aiokafka's protocol client: one `ClusterReader.read()` a refresh.

Per refresh: one Metadata request, ListGroups to every broker (the broker that lists a group is its
coordinator, v5 names its type), ListOffsets latest+earliest batched per partition leader, each
group type's describe API batched per coordinator, OffsetFetch v8+ for many groups per request
(one group per request on brokers before Kafka 3.0), DescribeShareGroupOffsets batched, under a
bounded concurrency. The client and its connections live between refreshes and are rebuilt after
a failure. Where OffsetFetch must name partitions, known groups are asked only for the topics they
had commits on, with periodic full rescans.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from functools import partial
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.protocol.api import Request, Response

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.protocol.api_versions import ApiVersions, api_name, node_versions
from exporter.collectors.kafka.protocol.bounded_decode import decode_bounded
from exporter.collectors.kafka.protocol.classic import MalformedResponse, Send
from exporter.collectors.kafka.protocol.decode_bounds import ResponseLimitExceeded
from exporter.collectors.kafka.protocol.describe_quorum import API_KEY as DESCRIBE_QUORUM
from exporter.collectors.kafka.protocol.describe_quorum import (
    DescribeQuorumRequest,
    decode_quorum_leader,
)
from exporter.collectors.kafka.read.bounded_replies import Deferred, FrameTooLarge, RawReply
from exporter.collectors.kafka.read.concurrency import all_or_cancel
from exporter.collectors.kafka.read.connection import Connection
from exporter.collectors.kafka.read.decode_thread import DecodeThread
from exporter.collectors.kafka.read.group_listing import Listing
from exporter.collectors.kafka.read.groups import GroupReads
from exporter.collectors.kafka.read.log_dirs import LogDirReads
from exporter.collectors.kafka.read.topic_configs import TopicConfigReads
from exporter.collectors.kafka.read.topics import (
    partition_infos,
    partitions_of,
    read_cluster_metadata,
    read_watermarks,
)
from exporter.collectors.kafka.state import Broker, ClusterState

log = logging.getLogger(__name__)

INLINE_DECODE_BYTES = 64 * 1024
"""Replies up to this size are decoded on the loop (a few milliseconds at most); larger ones in
the reader's decode thread, so the loop goes on serving while they decode."""


class ClusterReader:
    """Long-lived connection to one cluster; `read()` does one refresh.

    Every request goes through `_send` (counted in `requests`; subclasses may watch it).
    """

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.requests: Counter[str] = Counter()
        """Requests sent, by API name (for benchmarks and debugging)."""
        self.malformed: Counter[str] = Counter()
        """Replies refused as malformed or over a limit since start, by Kafka API name."""
        self._connection = Connection(config)
        self._decoder = DecodeThread(config.name)
        self._groups = GroupReads(config)
        self._log_dirs = LogDirReads(config.name, config.max_concurrency)
        self._quorum_said = False
        """Whether the last DescribeQuorum failure was logged as a warning (said once)."""
        self._topic_configs = TopicConfigReads(
            config.name, config.max_concurrency, config.topic_configs
        )

    @property
    def _null_offset_fetch(self) -> bool | None:
        """Whether OffsetFetch for all partitions works; None: not known yet (tests read it)."""
        return self._groups.committed.null_offset_fetch

    @property
    def _batch_describe(self) -> bool | None:
        """Whether batched DescribeGroups is well-formed; None: not known yet (tests read it)."""
        return self._groups.describer.batch_describe

    @property
    def _group_topics(self) -> dict[str, frozenset[str]]:
        """Topics each group had commits on at its last answer (tests read it)."""
        return self._groups.committed.group_topics

    async def read(self) -> ClusterState:
        """Read brokers, topics, watermarks, groups and committed offsets."""
        before, started = self.requests.copy(), time.monotonic()
        try:
            client = await self._connect()
            state = await self._read(client)
        except BaseException:
            await self.close()
            raise
        self._groups.remember(state.groups)
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
        self._decoder.close()
        await self._connection.close()

    async def send(self, node: int, request: Request) -> Response:
        """Send one request to broker `node` through the long-lived client (connecting if needed).

        For the collector's extra reads after `read()`, e.g. the records at committed offsets.
        """
        return await self._send(await self._connect(), node, request)

    async def _connect(self) -> AIOKafkaClient:
        """The client; a new one has its brokers' quirks probed again."""
        new = not self._connection.connected
        client = await self._connection.connect()
        if new:
            self._groups.forget_brokers()
        return client

    async def _send(self, client: AIOKafkaClient, node: int, request: Request) -> Response:
        """Send `request`; its reply is decoded with bounds, a large one in the decode thread
        (the loop goes on serving) stopped when the request is cancelled. A reply that cannot
        be decoded or is over a limit is a MalformedResponse of this request alone, logged and
        counted."""
        self.requests[type(request).__name__.removesuffix("Request")] += 1
        deferred = Deferred(request)
        try:
            reply = await client.send(node, deferred)
        except KafkaConnectionError as exc:
            cause = exc.__cause__
            if isinstance(cause, FrameTooLarge) and cause.culprit is not deferred.sent:
                raise MalformedResponse(
                    f"connection to broker {node} closed: another reply on it was refused ({cause})"
                ) from None
            if isinstance(cause, FrameTooLarge):
                text = f"{cause}; refused unread and the connection closed"
                raise self._malformed(
                    client, node, request, deferred.version, ResponseLimitExceeded(text)
                ) from None
            raise
        if not isinstance(reply, RawReply):
            return reply
        stop = threading.Event()
        try:
            if len(reply.data.getbuffer()) <= INLINE_DECODE_BYTES:
                return decode_bounded(reply.response_type, reply.data)
            return await self._decoder.run(decode_bounded, reply.response_type, reply.data, stop)
        except MalformedResponse as exc:
            raise self._malformed(client, node, request, deferred.version, exc) from None
        finally:
            stop.set()  # a cancelled request's decode ends at its next look at the flag

    def _malformed(
        self,
        client: AIOKafkaClient,
        node: int,
        request: Request,
        version: int | None,
        exc: MalformedResponse,
    ) -> MalformedResponse:
        """`exc` naming the API, version and broker, after one warning and a count."""
        api = api_name(request)
        self.malformed[api] += 1
        broker = client.cluster.broker_metadata(node)
        where = f"broker {node}" + (f" ({broker.host}:{broker.port})" if broker else "")
        cause = exc.args[0] if exc.args else type(exc).__name__
        error = type(exc)(f"{api} v{version} reply from {where}: {cause}")
        log.warning(
            "%s: malformed reply, left out this refresh: %s",
            self.config.name,
            error,
            extra={"collector": self.config.name, "api": api},
        )
        return error

    async def _read(self, client: AIOKafkaClient) -> ClusterState:
        cfg, groups = self.config, self._groups
        send = partial(self._send, client)
        brokers, raw_topics, cluster_id, controller_id = await read_cluster_metadata(client, send)
        topics = partitions_of(raw_topics, cfg.topics.matches)
        selected = topics
        listing = await groups.listing(send, [b.node_id for b in brokers])
        versions = await _versions(client, _nodes(listing, brokers))
        groups.announce(versions)
        await groups.probe_brokers(send, listing, topics, versions)
        if cfg.topic_metrics and (cfg.shard is None or cfg.shard.reports_cluster):
            (newest, oldest), details = await all_or_cancel(
                read_watermarks(send, topics, True, cfg.name),
                groups.details(send, listing, topics, versions),
            )
        else:  # lag only (or a shard but 0): watermarks of the topics groups commit on, the
            # log start too (log_start_gap: a shard's groups get what one exporter gives them)
            details = await groups.details(send, listing, topics, versions)
            committed = {topic for found in details.offsets.values() for topic, _ in found}
            topics = {t: parts for t, parts in topics.items() if t in committed}
            newest, oldest = await read_watermarks(send, topics, True, cfg.name)
        group_infos, share_infos = groups.infos(listing, details)
        log_dirs = (
            await self._log_dirs.read(send, brokers, selected)
            if cfg.log_dirs and (cfg.shard is None or cfg.shard.reports_cluster)
            else {}
        )
        return ClusterState(
            brokers=tuple(brokers),
            topics=partition_infos(topics, newest, oldest),
            groups=group_infos,
            share_groups=share_infos,
            log_dirs=log_dirs,
            **(await self._info(client, send, brokers, selected, cluster_id, controller_id)),
        )

    async def _info(
        self,
        client: AIOKafkaClient,
        send: Send,
        brokers: list[Broker],
        topics: Iterable[str],
        cluster_id: str | None,
        controller_id: int | None,
    ) -> dict[str, Any]:
        """ClusterState fields of the `cluster_info` and `topic_configs` options (shard 0 only)."""
        cfg, out = self.config, dict[str, Any]()
        if cfg.shard is not None and not cfg.shard.reports_cluster:
            return out
        if cfg.cluster_info:
            versions = await _versions(client, [b.node_id for b in brokers])
            quorum = [node for node, v in versions.items() if DESCRIBE_QUORUM in v]
            if quorum:  # KRaft: Metadata names a random live broker, the quorum its leader
                controller_id = await _quorum_leader(send, quorum[0], cfg.name, self._quorum_said)
                self._quorum_said = controller_id is None
            out["cluster_id"], out["controller_id"] = cluster_id, controller_id
            out["api_versions"] = {
                n: {k: h for k, (_, h) in v.items()} for n, v in versions.items()
            }
        if cfg.topic_configs:
            nodes = sorted(b.node_id for b in brokers)
            out["topic_configs"] = await self._topic_configs.read(send, nodes, topics)
        return out


async def _quorum_leader(send: Send, node: int, name: str, said: bool) -> int | None:
    """The active controller (the KRaft quorum's leader) as broker `node` reports it; None
    when it cannot say this refresh (a warning unless `said` already, then debug)."""
    try:
        return decode_quorum_leader(await send(node, DescribeQuorumRequest()))
    except KafkaError as exc:
        (log.debug if said else log.warning)(
            "%s: no active controller this refresh (DescribeQuorum to broker %s: %s: %s)",
            name,
            node,
            type(exc).__name__,
            exc,
            extra={"collector": name, "api": "DescribeQuorum"},
        )
        return None


async def _versions(client: AIOKafkaClient, nodes: list[int]) -> dict[int, ApiVersions]:
    """The ApiVersions of `nodes`; a broker that cannot be reached now is left out (its groups
    are then read with the oldest requests, and fail like any request to it)."""
    out: dict[int, ApiVersions] = {}
    for node in nodes:
        try:
            out[node] = await node_versions(client, node)
        except KafkaError as exc:
            log.debug("no ApiVersions of broker %s: %r", node, exc)
    return out


def _nodes(listing: Listing, brokers: list[Broker]) -> list[int]:
    """The coordinators of the listed groups; every broker when there are none (to say once
    what the cluster offers)."""
    coordinators = sorted({entry.node for entry in listing.values()})
    return coordinators or [b.node_id for b in brokers]

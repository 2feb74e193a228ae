"""The topic side of a read: Metadata from any broker that answers, and the partitions' high (and
low) watermarks from one ListOffsets per partition leader and timestamp."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.protocol.api import Response

from exporter.collectors.kafka.protocol import classic
from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.read.concurrency import all_or_cancel
from exporter.collectors.kafka.state import Broker, PartitionInfo

log = logging.getLogger(__name__)

RawPartitions = dict[str, dict[int, dict[str, Any]]]
"""topic -> partition -> the partition's dict from the Metadata response."""
Offsets = dict[tuple[str, int], int]
"""(topic, partition) -> offset."""


async def read_metadata(
    client: AIOKafkaClient, send: Send
) -> tuple[list[Broker], list[dict[str, Any]]]:
    """Brokers and raw topics from the first broker that answers Metadata (see `ask_metadata`)."""
    return classic.decode_metadata(await ask_metadata(client, send))


async def read_cluster_metadata(
    client: AIOKafkaClient, send: Send
) -> tuple[list[Broker], list[dict[str, Any]], str | None, int | None]:
    """Brokers, raw topics, cluster id and controller id from one Metadata answer."""
    metadata = await ask_metadata(client, send)
    brokers, raw_topics = classic.decode_metadata(metadata)
    return (brokers, raw_topics, *classic.decode_cluster_identity(metadata))


async def ask_metadata(client: AIOKafkaClient, send: Send) -> Response:
    """The Metadata answer of the first broker that answers.

    Any broker can answer: one that is down (still in the client's metadata, or the first
    bootstrap server) must not fail the refresh while another one answers. The client's own
    metadata is updated from the answer.
    """
    known = [b.nodeId for b in client.cluster.brokers()]
    metadata: Response | None = None
    failure: KafkaError | None = None
    for node in dict.fromkeys(n for n in [client.get_random_node(), *known] if n is not None):
        try:
            metadata = await send(node, classic.metadata_request())
            break
        except KafkaError as exc:
            failure = exc
    if metadata is None:
        raise failure or KafkaConnectionError("no broker known to ask for metadata")
    # The client connects to node ids through its own metadata, refreshed only every few
    # minutes: without this, a broker that came back (or a new one) fails every request to it.
    client.cluster.update_metadata(metadata)
    return metadata


def partitions_of(
    raw_topics: Iterable[dict[str, Any]], keep: Callable[[str], bool]
) -> RawPartitions:
    """topic -> partition -> metadata dict, for topics without error that pass the filter."""
    out: RawPartitions = {}
    for topic in raw_topics:
        if topic["error_code"] or not keep(topic["topic"]):
            continue
        out[topic["topic"]] = {p["partition"]: p for p in topic["partitions"]}
    return out


async def read_watermarks(
    send: Send, topics: RawPartitions, earliest: bool, collector: str
) -> tuple[Offsets, Offsets]:
    """High (and with `earliest`, low) watermarks: one ListOffsets per leader and timestamp.

    A leader that does not answer leaves only its partitions without offsets (logged with the
    `collector` name); when none answers, KafkaConnectionError.
    """
    by_leader: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for topic, parts in topics.items():
        for number, meta in parts.items():
            if meta["leader"] >= 0:
                by_leader[meta["leader"]][topic].append(number)

    async def ask(leader: int, timestamp: int) -> Offsets | None:
        request = classic.list_offsets_request(by_leader[leader], timestamp)
        try:
            return classic.decode_list_offsets(await send(leader, request))
        except KafkaError as exc:  # a leader that is down: only its partitions lack offsets
            log.warning(
                "%s: ListOffsets failed on broker %s (%r); its partitions have no offsets"
                " this refresh",
                collector,
                leader,
                exc,
            )
            return None

    leaders = list(by_leader)
    timestamps = (classic.LATEST, classic.EARLIEST) if earliest else (classic.LATEST,)
    found = await all_or_cancel(*(ask(leader, ts) for ts in timestamps for leader in leaders))
    if found and all(answer is None for answer in found):
        raise KafkaConnectionError(f"ListOffsets failed on every leader ({leaders})")
    answers = [answer or {} for answer in found]
    newest: Offsets = {}
    oldest: Offsets = {}
    for answer in answers[: len(leaders)]:
        newest.update(answer)
    for answer in answers[len(leaders) :]:
        oldest.update(answer)
    return newest, oldest


def partition_infos(
    topics: RawPartitions, newest: Offsets, oldest: Offsets
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

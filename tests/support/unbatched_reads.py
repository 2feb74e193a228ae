"""The collector's group reads as on a broker without OffsetFetch v8 (KIP-709): one group per
OffsetFetch. Real Kafka 3.0+ and Tansu both offer v8; tests of the one-group-per-request fallback
(and of Tansu's refusal of a null topic list before v8) and bench/'s "before batching" figures
cap the version the reader sees, and nothing else."""

from __future__ import annotations

from exporter.collectors.kafka.protocol.api_versions import ApiVersions
from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.read.committed_offsets import GROUPS_VERSION, OFFSET_FETCH_API
from exporter.collectors.kafka.read.group_listing import Listing
from exporter.collectors.kafka.read.groups import GroupDetails, GroupReads
from exporter.collectors.kafka.read.reader import ClusterReader
from exporter.collectors.kafka.read.topics import RawPartitions


def _capped(versions: dict[int, ApiVersions]) -> dict[int, ApiVersions]:
    """`versions` with OffsetFetch capped below v8."""
    out = {}
    for node, offered in versions.items():
        low, high = offered.get(OFFSET_FETCH_API, (0, -1))
        out[node] = {**offered, OFFSET_FETCH_API: (low, min(high, GROUPS_VERSION - 1))}
    return out


class OneGroupPerFetch(GroupReads):
    """GroupReads that sees every broker's OffsetFetch capped at v7."""

    async def probe_brokers(
        self,
        send: Send,
        listing: Listing,
        topics: RawPartitions,
        versions: dict[int, ApiVersions],
    ) -> None:
        await super().probe_brokers(send, listing, topics, _capped(versions))

    async def details(
        self,
        send: Send,
        listing: Listing,
        topics: RawPartitions,
        versions: dict[int, ApiVersions],
    ) -> GroupDetails:
        return await super().details(send, listing, topics, _capped(versions))


def one_group_per_fetch(reader: ClusterReader) -> ClusterReader:
    """`reader`, reading groups as on a broker before KIP-709 (before its first read)."""
    reader._groups = OneGroupPerFetch(reader.config)
    return reader

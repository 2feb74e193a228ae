"""Kafka requests the `kafka` collector sends, and decoding of their responses into plain data.

Decoders take aiokafka response structs and never do I/O, so they are easy to reason about and
shared by the reader, the benchmarks and tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka.errors import for_code
from aiokafka.protocol.admin import DescribeGroupsRequest, ListGroupsRequest
from aiokafka.protocol.api import Response
from aiokafka.protocol.commit import OffsetFetchRequest
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.offset import OffsetRequest

from exporter.collectors.kafka.state import Broker

LATEST = -1
EARLIEST = -2


class MalformedResponse(Exception):
    """A broker answered with data that does not fit the request."""


def metadata_request() -> MetadataRequest:
    """Metadata for all topics."""
    return MetadataRequest(None)


def list_groups_request() -> ListGroupsRequest:
    """Groups coordinated by the broker the request is sent to."""
    return ListGroupsRequest()


def list_offsets_request(partitions: dict[str, list[int]], timestamp: int) -> OffsetRequest:
    """Offsets at `timestamp` (LATEST / EARLIEST) for every partition led by one broker."""
    topics = [(topic, [(p, timestamp) for p in parts]) for topic, parts in partitions.items()]
    return OffsetRequest(replica_id=-1, isolation_level=0, topics=topics)


def describe_groups_request(groups: list[str]) -> DescribeGroupsRequest:
    """Membership and state of `groups` (all coordinated by the receiving broker)."""
    return DescribeGroupsRequest(groups)


def offset_fetch_request(group: str, partitions: dict[str, list[int]] | None) -> OffsetFetchRequest:
    """Committed offsets of `group`; `None` asks for every partition it has committed on."""
    explicit = None if partitions is None else [(t, list(p)) for t, p in partitions.items()]
    return OffsetFetchRequest(group, explicit)


def decode_metadata(response: Response) -> tuple[list[Broker], list[dict[str, Any]]]:
    """Brokers and topic dicts (`topic`, `error_code`, `partitions`) from a Metadata response."""
    data = response.to_object()
    brokers = [Broker(b["node_id"], b["host"], b["port"]) for b in data["brokers"]]
    return brokers, list(data["topics"])


def decode_list_groups(response: Response) -> list[str]:
    """Group ids from a ListGroups response; raises the broker's error."""
    if response.error_code:
        raise for_code(response.error_code)("ListGroups failed")
    return [entry[0] for entry in response.groups]


def decode_list_offsets(response: Response) -> dict[tuple[str, int], int]:
    """(topic, partition) -> offset for partitions answered without error."""
    out: dict[tuple[str, int], int] = {}
    for topic in response.to_object()["topics"]:
        for part in topic["partitions"]:
            if part["error_code"]:
                continue
            if "offset" in part:
                offset = part["offset"]
            elif part.get("offsets"):
                offset = part["offsets"][0]
            else:
                continue
            if offset >= 0:
                out[(topic["topic"], part["partition"])] = offset
    return out


def decode_describe_groups(response: Response, asked: Iterable[str]) -> dict[str, tuple[str, int]]:
    """group -> (state, members) for every group answered without error.

    Each answer must name a group that was asked for, once; otherwise MalformedResponse (some
    brokers, e.g. Tansu, return garbage for all but the first group of a batch, and the caller
    falls back to one group per request). A group answered with an error code (e.g.
    COORDINATOR_LOAD_IN_PROGRESS, or a KIP-848 group this API cannot describe) is left out, so
    one odd group never fails the others.
    """
    wanted = set(asked)
    answered: set[str] = set()
    out: dict[str, tuple[str, int]] = {}
    for entry in response.to_object()["groups"]:
        group = entry.get("group")
        if group not in wanted or group in answered:
            raise MalformedResponse(f"DescribeGroups answered for unexpected group {group!r}")
        answered.add(group)
        if not entry["error_code"]:
            out[group] = (entry.get("state") or "", len(entry.get("members") or ()))
    if answered != wanted:
        raise MalformedResponse(f"DescribeGroups did not answer for {sorted(wanted - answered)}")
    return out


def decode_offset_fetch(response: Response) -> dict[tuple[str, int], int]:
    """(topic, partition) -> committed offset; partitions without a commit (-1) are left out."""
    top_error = getattr(response, "error_code", 0)
    if top_error:
        raise for_code(top_error)("OffsetFetch failed")
    out: dict[tuple[str, int], int] = {}
    for topic, partitions in response.topics:
        for partition, offset, _metadata, error_code in partitions:
            if error_code:
                raise for_code(error_code)(f"OffsetFetch failed for {topic}-{partition}")
            if offset >= 0:
                out[(topic, partition)] = offset
    return out

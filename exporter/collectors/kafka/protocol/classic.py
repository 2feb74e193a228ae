"""The requests aiokafka defines that the `kafka` collector sends (Metadata, ListOffsets,
DescribeGroups, one-group OffsetFetch), and decoding of their responses into plain data.

Decoders take aiokafka response structs and never do I/O, so they are easy to reason about and
shared by the reader, the benchmarks and tests.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol import admin
from aiokafka.protocol.admin import (
    DescribeGroupsRequest_v0,
    DescribeGroupsRequest_v1,
    DescribeGroupsRequest_v2,
    DescribeGroupsResponse_v3,
    ListGroupsRequest,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.commit import OffsetFetchRequest
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.offset import OffsetRequest
from aiokafka.protocol.types import Array, Bytes, Int16, Int32, Schema, String

from exporter.collectors.kafka.state import Broker, MemberDetail

LATEST = -1
EARLIEST = -2

Send = Callable[[int, Request], Awaitable[Response]]
"""Sends one request to a broker (by node id) and returns its response."""


class MalformedResponse(KafkaError):
    """A broker answered with data that does not fit the request (e.g. a null array where the
    protocol has a list). A KafkaError, so a caller that leaves out a failing broker's part
    leaves out a garbled answer the same way."""


def _object(response: Response) -> dict[str, Any]:
    """`response.to_object()`; MalformedResponse when an array in it is null (aiokafka decodes
    length -1 as None, and its to_object then fails iterating it)."""
    try:
        return response.to_object()
    except TypeError:
        raise MalformedResponse(f"{type(response).__name__} has a null array") from None


def _array(value: Any, what: str) -> Any:
    """`value`, or MalformedResponse when the array `what` is null."""
    if value is None:
        raise MalformedResponse(f"{what} is a null array")
    return value


class DescribeGroupsRequest_v3(RequestStruct):
    """DescribeGroups v3, answered by the v3 response. aiokafka 0.14's own v3 request decodes
    the answer with the v2 schema, which lacks `authorized_operations`: every group after the
    first of a batch comes back shifted by four bytes (seen on Kafka 3.9 and 4.x)."""

    API_KEY = 15
    API_VERSION = 3
    RESPONSE_TYPE = DescribeGroupsResponse_v3
    SCHEMA = admin.DescribeGroupsRequest_v3.SCHEMA


_TEXT = String("utf-8")


class DescribeGroupsResponse_v4(Response):
    """DescribeGroups v4 (KIP-345): each member's GroupInstanceId (null for a dynamic member)
    after its MemberId; otherwise v3."""

    API_KEY = 15
    API_VERSION = 4
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "groups",
            Array(
                ("error_code", Int16),
                ("group", _TEXT),
                ("state", _TEXT),
                ("protocol_type", _TEXT),
                ("protocol", _TEXT),
                (
                    "members",
                    Array(
                        ("member_id", _TEXT),
                        ("group_instance_id", _TEXT),
                        ("client_id", _TEXT),
                        ("client_host", _TEXT),
                        ("member_metadata", Bytes),
                        ("member_assignment", Bytes),
                    ),
                ),
                ("authorized_operations", Int32),
            ),
        ),
    )


class DescribeGroupsRequest_v4(RequestStruct):
    """DescribeGroups v4: the v3 request, answered with group instance ids."""

    API_KEY = 15
    API_VERSION = 4
    RESPONSE_TYPE = DescribeGroupsResponse_v4
    SCHEMA = admin.DescribeGroupsRequest_v3.SCHEMA


class DescribeGroupsRequest(
    Request[
        DescribeGroupsRequest_v0
        | DescribeGroupsRequest_v1
        | DescribeGroupsRequest_v2
        | DescribeGroupsRequest_v3
        | DescribeGroupsRequest_v4
    ]
):
    """Membership and state of groups, at the highest version both sides speak: up to v3, or up
    to v4 (each member's group instance id) with `members` (the option of that name), so a
    broker's v4 is never needed without it."""

    API_KEY = 15

    def __init__(self, groups: list[str], members: bool = False) -> None:
        self._groups = groups
        self._members = members

    def prepare(self, versions: dict[int, tuple[int, int]]) -> Any:
        """The request struct for a broker offering `versions` (v4 only with `members`)."""
        if not self._members and self.API_KEY in versions:
            low, high = versions[self.API_KEY]
            versions = {**versions, self.API_KEY: (low, min(high, 3))}
        return Request.prepare(self, versions)

    def build(self, request_struct_class: type[Any]) -> Any:
        """The request struct of the negotiated version."""
        if request_struct_class.API_VERSION < 3:
            return request_struct_class(self._groups)
        return request_struct_class(self._groups, False)


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


def describe_groups_request(groups: list[str], members: bool = False) -> DescribeGroupsRequest:
    """Membership and state of `groups` (all coordinated by the receiving broker); `members`
    also asks for each member's group instance id (v4) where the broker has it."""
    return DescribeGroupsRequest(groups, members)


def offset_fetch_request(group: str, partitions: dict[str, list[int]] | None) -> OffsetFetchRequest:
    """Committed offsets of `group`; `None` asks for every partition it has committed on."""
    explicit = None if partitions is None else [(t, list(p)) for t, p in partitions.items()]
    return OffsetFetchRequest(group, explicit)


def decode_metadata(response: Response) -> tuple[list[Broker], list[dict[str, Any]]]:
    """Brokers and topic dicts (`topic`, `error_code`, `partitions`) from a Metadata response;
    MalformedResponse for a null array."""
    data = _object(response)
    brokers = [
        Broker(b["node_id"], b["host"], b["port"], b.get("rack") or None) for b in data["brokers"]
    ]
    return brokers, list(data["topics"])


def decode_cluster_identity(response: Response) -> tuple[str | None, int | None]:
    """(cluster id, controller id) from a Metadata response: the id from v2, the controller
    from v1; None where the version lacks it or the broker does not know (-1)."""
    data = _object(response)
    cluster_id = data.get("cluster_id") or None
    controller = data.get("controller_id")
    return cluster_id, controller if isinstance(controller, int) and controller >= 0 else None


def decode_list_groups(response: Response) -> list[str]:
    """Group ids from a ListGroups response; raises the broker's error (MalformedResponse for
    a null array)."""
    if response.error_code:
        raise for_code(response.error_code)("ListGroups failed")
    return [entry[0] for entry in _array(response.groups, "groups")]


def decode_list_offsets(response: Response) -> dict[tuple[str, int], int]:
    """(topic, partition) -> offset for partitions answered without error; MalformedResponse for
    a null array."""
    out: dict[tuple[str, int], int] = {}
    for topic in _object(response)["topics"]:
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
    one odd group never fails the others. A null array is MalformedResponse too.
    """
    wanted = set(asked)
    answered: set[str] = set()
    out: dict[str, tuple[str, int]] = {}
    for entry in _object(response)["groups"]:
        group = entry.get("group")
        if group not in wanted or group in answered:
            raise MalformedResponse(f"DescribeGroups answered for unexpected group {group!r}")
        answered.add(group)
        if not entry["error_code"]:
            out[group] = (entry.get("state") or "", len(entry.get("members") or ()))
    if answered != wanted:
        raise MalformedResponse(f"DescribeGroups did not answer for {sorted(wanted - answered)}")
    return out


def decode_group_members(response: Response) -> dict[str, tuple[MemberDetail, ...]]:
    """group -> its members (ids, host, instance id from v4, assigned partitions) for every
    group answered without error; read after `decode_describe_groups` accepted the response.

    The assigned partitions are decoded from the member's assignment bytes (the consumer
    protocol's ConsumerProtocolAssignment, every version alike) for groups of protocol type
    `consumer`; None for other protocol types (connect, ...) and for bytes that do not decode.
    An empty assignment (the member joined, the leader has not assigned yet) is 0 partitions."""
    out: dict[str, tuple[MemberDetail, ...]] = {}
    for entry in _object(response)["groups"]:
        if entry["error_code"]:
            continue
        consumer = entry.get("protocol_type") == "consumer"
        out[entry["group"]] = tuple(
            MemberDetail(
                member_id=member["member_id"] or "",
                client_id=member["client_id"] or "",
                host=member["client_host"] or "",
                instance_id=member.get("group_instance_id"),
                assigned_partitions=(
                    assigned_partitions(member["member_assignment"]) if consumer else None
                ),
            )
            for member in entry.get("members") or ()
        )
    return out


def assigned_partitions(assignment: bytes | None) -> int | None:
    """Partitions in a consumer-protocol member assignment; 0 for no bytes, None when the
    bytes are not a ConsumerProtocolAssignment."""
    if not assignment:
        return 0
    try:
        decoded = ConsumerProtocolMemberAssignment.decode(assignment)
    except (ValueError, TypeError, struct.error, UnicodeDecodeError):
        return None
    if decoded.assignment is None:
        return None
    return sum(len(partitions or ()) for _topic, partitions in decoded.assignment)


def decode_offset_fetch(response: Response) -> dict[tuple[str, int], int]:
    """(topic, partition) -> committed offset; partitions without a commit (-1) are left out.
    Raises the broker's error (MalformedResponse for a null array)."""
    top_error = getattr(response, "error_code", 0)
    if top_error:
        raise for_code(top_error)("OffsetFetch failed")
    out: dict[tuple[str, int], int] = {}
    for topic, partitions in _array(response.topics, "topics"):
        for partition, offset, _metadata, error_code in _array(partitions, f"{topic} partitions"):
            if error_code:
                raise for_code(error_code)(f"OffsetFetch failed for {topic}-{partition}")
            if offset >= 0:
                out[(topic, partition)] = offset
    return out

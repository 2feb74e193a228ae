"""State and membership of KIP-848 consumer groups (ConsumerGroupDescribe, key 69), share groups
(ShareGroupDescribe, key 77, KIP-932) and streams groups (StreamsGroupDescribe, key 89,
KIP-1071): many groups of one coordinator per request. A group of another type (or none) is
answered with that group's error, GROUP_ID_NOT_FOUND, not a failed request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Boolean, Schema

from exporter.collectors.kafka.protocol import describe_schemas as layouts
from exporter.collectors.kafka.protocol.api_versions import ApiVersions, negotiate
from exporter.collectors.kafka.protocol.rows import Row, by_group
from exporter.collectors.kafka.protocol.wire_types import NO_TAGS, STRINGS, TAGS
from exporter.collectors.kafka.state import MemberDetail

CONSUMER_API_KEY = 69
SHARE_API_KEY = 77
STREAMS_API_KEY = 89

_REQUEST = Schema(("group_ids", STRINGS), ("include_authorized_operations", Boolean), TAGS)
_STREAMS_REQUEST_V1 = Schema(
    ("group_ids", STRINGS),
    ("include_authorized_operations", Boolean),
    ("include_topology_description", Boolean),
    TAGS,
)


class ConsumerGroupDescribeResponse_v0(Response):
    API_KEY = CONSUMER_API_KEY
    API_VERSION = 0
    SCHEMA = layouts.CONSUMER_V0


class ConsumerGroupDescribeResponse_v1(Response):
    API_KEY = CONSUMER_API_KEY
    API_VERSION = 1
    SCHEMA = layouts.CONSUMER_V1


class ShareGroupDescribeResponse_v1(Response):
    API_KEY = SHARE_API_KEY
    API_VERSION = 1
    SCHEMA = layouts.SHARE_V1


class StreamsGroupDescribeResponse_v0(Response):
    API_KEY = STREAMS_API_KEY
    API_VERSION = 0
    SCHEMA = layouts.STREAMS_V0


class StreamsGroupDescribeResponse_v1(Response):
    API_KEY = STREAMS_API_KEY
    API_VERSION = 1
    SCHEMA = layouts.STREAMS_V1


class ConsumerGroupDescribeRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = CONSUMER_API_KEY
    API_VERSION = 0
    RESPONSE_TYPE = ConsumerGroupDescribeResponse_v0
    SCHEMA = _REQUEST


class ConsumerGroupDescribeRequest_v1(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = CONSUMER_API_KEY
    API_VERSION = 1
    RESPONSE_TYPE = ConsumerGroupDescribeResponse_v1
    SCHEMA = _REQUEST


class ShareGroupDescribeRequest_v1(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = SHARE_API_KEY
    API_VERSION = 1
    RESPONSE_TYPE = ShareGroupDescribeResponse_v1
    SCHEMA = _REQUEST


class StreamsGroupDescribeRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = STREAMS_API_KEY
    API_VERSION = 0
    RESPONSE_TYPE = StreamsGroupDescribeResponse_v0
    SCHEMA = _REQUEST


class StreamsGroupDescribeRequest_v1(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = STREAMS_API_KEY
    API_VERSION = 1
    RESPONSE_TYPE = StreamsGroupDescribeResponse_v1
    SCHEMA = _STREAMS_REQUEST_V1


class _Groups:
    """What the three describe requests share (mixed in by assignment: aiokafka's Request
    takes exactly one base class)."""

    def __init__(self, groups: list[str]) -> None:
        self.groups = list(dict.fromkeys(groups))
        """The groups to ask for, each once (a broker answers a group asked twice twice)."""

    def build(self, request_struct_class: type[Any]) -> Any:
        """The request struct of the negotiated version: no authorized operations, no
        topology description (StreamsGroupDescribe v1)."""
        if "include_topology_description" in request_struct_class.SCHEMA.names:
            return request_struct_class(self.groups, False, False, NO_TAGS)
        return request_struct_class(self.groups, False, NO_TAGS)

    def prepare(self, versions: ApiVersions) -> Any:
        """The request struct for a broker offering `versions`."""
        return negotiate(self, versions)


class ConsumerGroupDescribeRequest(
    Request[ConsumerGroupDescribeRequest_v0 | ConsumerGroupDescribeRequest_v1]
):
    """KIP-848 consumer groups `groups` (all coordinated by the receiving broker)."""

    API_KEY = CONSUMER_API_KEY
    __init__ = _Groups.__init__
    build = _Groups.build
    prepare = _Groups.prepare


class ShareGroupDescribeRequest(Request[ShareGroupDescribeRequest_v1]):
    """Share groups `groups` (all coordinated by the receiving broker)."""

    API_KEY = SHARE_API_KEY
    __init__ = _Groups.__init__
    build = _Groups.build
    prepare = _Groups.prepare


class StreamsGroupDescribeRequest(
    Request[StreamsGroupDescribeRequest_v0 | StreamsGroupDescribeRequest_v1]
):
    """Streams groups `groups` (all coordinated by the receiving broker)."""

    API_KEY = STREAMS_API_KEY
    __init__ = _Groups.__init__
    build = _Groups.build
    prepare = _Groups.prepare


@dataclass(frozen=True)
class GroupDescription:
    """A described group: its state and how many members it has."""

    state: str
    """e.g. `Empty`, `Assigning`, `Reconciling`, `Stable`, `Dead` (consumer); `Empty`,
    `Stable` (share); `Empty`, `NotReady`, `Assigning`, `Reconciling`, `Stable` (streams)."""
    members: int
    details: tuple[MemberDetail, ...] = ()
    """Each member's ids, host and assigned partitions (only when asked for: `members`)."""


def decode_group_describe(
    response: Response, asked: list[str], members: bool = False
) -> dict[str, GroupDescription | KafkaError]:
    """Each group asked for -> its description, or the broker's error for that group (e.g.
    GroupIdNotFound for a group of another type). MalformedResponse when the answers do not
    match `asked`, or an array or a non-nullable string is null. `members` also reads each
    member's details (see `member_details`)."""
    top = Row.of(response)
    api = type(response).__name__.split("Response")[0]
    answers = by_group(top.rows("groups"), asked, api)
    out: dict[str, GroupDescription | KafkaError] = {}
    for group, answer in answers.items():
        error = answer.error(f"{api} failed for group {group}")
        if error is not None:
            out[group] = error
        else:
            details = member_details(answer, api != "StreamsGroupDescribe") if members else ()
            state = answer.text("group_state")
            out[group] = GroupDescription(state, len(answer.items("members")), details)
    return out


def member_details(group: Row, partitions: bool) -> tuple[MemberDetail, ...]:
    """The members of one described group: member id, instance id (share members have none),
    client id and host, and with `partitions` the partitions of the current assignment summed
    over its topics (a streams group's assignment is tasks, not partitions: None)."""
    out: list[MemberDetail] = []
    for member in group.rows("members"):
        assigned: int | None = None
        if partitions:
            assignment = Row(layouts.TOPIC_PARTITIONS, member.get("assignment"), member.what)
            assigned = sum(
                len(found or ()) for found in assignment.columns("topic_partitions", "partitions")
            )
        out.append(
            MemberDetail(
                member_id=member.text("member_id"),
                client_id=member.text("client_id"),
                host=member.text("client_host"),
                instance_id=member.optional("instance_id") or None,
                assigned_partitions=assigned,
            )
        )
    return tuple(out)

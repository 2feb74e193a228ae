"""ListGroups (API key 16) v0-v5: the groups a broker coordinates; v4 adds each group's state,
v5 (KIP-848) its type (classic, consumer, share, streams)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, CompactArray, Int16, Int32, Schema, String

from exporter.collectors.kafka.protocol.api_versions import ApiVersions, negotiate
from exporter.collectors.kafka.protocol.rows import Row, raise_top_error
from exporter.collectors.kafka.protocol.wire_types import (
    COMPACT_STRING,
    NO_TAGS,
    STRINGS,
    TAGS,
)

API_KEY = 16

_STRING = String("utf-8")
_V0_GROUP = Array(("group_id", _STRING), ("protocol_type", _STRING))
_V3_GROUP = CompactArray(("group_id", COMPACT_STRING), ("protocol_type", COMPACT_STRING), TAGS)
_V4_GROUP = CompactArray(
    ("group_id", COMPACT_STRING),
    ("protocol_type", COMPACT_STRING),
    ("group_state", COMPACT_STRING),
    TAGS,
)
_V5_GROUP = CompactArray(
    ("group_id", COMPACT_STRING),
    ("protocol_type", COMPACT_STRING),
    ("group_state", COMPACT_STRING),
    ("group_type", COMPACT_STRING),
    TAGS,
)


def _flexible(groups: CompactArray) -> Schema:
    return Schema(("throttle_time_ms", Int32), ("error_code", Int16), ("groups", groups), TAGS)


class ListGroupsResponse_v0(Response):
    API_KEY = API_KEY
    API_VERSION = 0
    SCHEMA = Schema(("error_code", Int16), ("groups", _V0_GROUP))


class ListGroupsResponse_v1(Response):
    API_KEY = API_KEY
    API_VERSION = 1
    SCHEMA = Schema(("throttle_time_ms", Int32), ("error_code", Int16), ("groups", _V0_GROUP))


class ListGroupsResponse_v2(Response):
    API_KEY = API_KEY
    API_VERSION = 2
    SCHEMA = ListGroupsResponse_v1.SCHEMA


class ListGroupsResponse_v3(Response):
    API_KEY = API_KEY
    API_VERSION = 3
    SCHEMA = _flexible(_V3_GROUP)


class ListGroupsResponse_v4(Response):
    API_KEY = API_KEY
    API_VERSION = 4
    SCHEMA = _flexible(_V4_GROUP)


class ListGroupsResponse_v5(Response):
    API_KEY = API_KEY
    API_VERSION = 5
    SCHEMA = _flexible(_V5_GROUP)


class ListGroupsRequest_v0(RequestStruct):
    API_KEY = API_KEY
    API_VERSION = 0
    RESPONSE_TYPE = ListGroupsResponse_v0
    SCHEMA = Schema()


class ListGroupsRequest_v1(RequestStruct):
    API_KEY = API_KEY
    API_VERSION = 1
    RESPONSE_TYPE = ListGroupsResponse_v1
    SCHEMA = Schema()


class ListGroupsRequest_v2(RequestStruct):
    API_KEY = API_KEY
    API_VERSION = 2
    RESPONSE_TYPE = ListGroupsResponse_v2
    SCHEMA = Schema()


class ListGroupsRequest_v3(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 3
    RESPONSE_TYPE = ListGroupsResponse_v3
    SCHEMA = Schema(TAGS)


class ListGroupsRequest_v4(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 4
    RESPONSE_TYPE = ListGroupsResponse_v4
    SCHEMA = Schema(("states_filter", STRINGS), TAGS)


class ListGroupsRequest_v5(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 5
    RESPONSE_TYPE = ListGroupsResponse_v5
    SCHEMA = Schema(("states_filter", STRINGS), ("types_filter", STRINGS), TAGS)


class ListGroupsRequest(
    Request[
        ListGroupsRequest_v0
        | ListGroupsRequest_v1
        | ListGroupsRequest_v2
        | ListGroupsRequest_v3
        | ListGroupsRequest_v4
        | ListGroupsRequest_v5
    ]
):
    """Every group the receiving broker coordinates, of every state and type, at the highest
    version both sides speak (empty filters: no filtering)."""

    API_KEY = API_KEY

    def build(self, request_struct_class: type[Any]) -> Any:
        """The request struct of the negotiated version."""
        version = request_struct_class.API_VERSION
        if version < 3:
            return request_struct_class()
        if version == 3:
            return request_struct_class(NO_TAGS)
        if version == 4:
            return request_struct_class([], NO_TAGS)
        return request_struct_class([], [], NO_TAGS)

    def prepare(self, versions: ApiVersions) -> Any:
        """The request struct for a broker offering `versions`."""
        return negotiate(self, versions)


@dataclass(frozen=True)
class ListedGroup:
    """One group as ListGroups lists it."""

    group_id: str
    protocol_type: str
    """`consumer` for consumer groups (classic or KIP-848), `share`, `streams`, `""` for others."""
    state: str | None
    """The group's state (v4+), e.g. `Stable`, `Empty`; None before v4."""
    group_type: str | None
    """`classic`, `consumer`, `share`, `streams` (v5+); None before v5."""


def decode_list_groups(response: Response) -> list[ListedGroup]:
    """The groups of a ListGroups response; raises the broker's error, MalformedResponse for a
    null array or a null group id."""
    top = Row.of(response)
    raise_top_error(top, "ListGroups failed")
    return [
        ListedGroup(
            group_id=group.text("group_id"),
            protocol_type=group.text("protocol_type"),
            state=group.optional_text("group_state"),
            group_type=group.optional_text("group_type"),
        )
        for group in top.rows("groups")
    ]

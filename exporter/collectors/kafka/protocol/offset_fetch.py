"""OffsetFetch (API key 9) v8-v9 (KIP-709, Kafka 3.0+): the committed offsets of many groups in
one request, every partition each group has committed on (null topics).

v10 (Kafka 4.1+) names topics by id only; Kafka 4.4 still accepts v8 and v9, which name them.
"""

from __future__ import annotations

from typing import Any

from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Boolean, CompactArray, Int16, Int32, Int64, Schema

from exporter.collectors.kafka.protocol.api_versions import ApiVersions, negotiate
from exporter.collectors.kafka.protocol.rows import Row, by_group
from exporter.collectors.kafka.protocol.wire_types import COMPACT_STRING, NO_TAGS, TAGS

API_KEY = 9

_REQUEST_TOPICS = CompactArray(
    ("name", COMPACT_STRING), ("partition_indexes", CompactArray(Int32)), TAGS
)
"""Nullable: null asks for every partition the group has committed on."""

_RESPONSE = Schema(
    ("throttle_time_ms", Int32),
    (
        "groups",
        CompactArray(
            ("group_id", COMPACT_STRING),
            (
                "topics",
                CompactArray(
                    ("name", COMPACT_STRING),
                    (
                        "partitions",
                        CompactArray(
                            ("partition_index", Int32),
                            ("committed_offset", Int64),
                            ("committed_leader_epoch", Int32),
                            ("metadata", COMPACT_STRING),  # nullable
                            ("error_code", Int16),
                            TAGS,
                        ),
                    ),
                    TAGS,
                ),
            ),
            ("error_code", Int16),
            TAGS,
        ),
    ),
    TAGS,
)


class OffsetFetchResponse_v8(Response):
    API_KEY = API_KEY
    API_VERSION = 8
    SCHEMA = _RESPONSE


class OffsetFetchResponse_v9(Response):
    API_KEY = API_KEY
    API_VERSION = 9
    SCHEMA = _RESPONSE


class OffsetFetchRequest_v8(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 8
    RESPONSE_TYPE = OffsetFetchResponse_v8
    SCHEMA = Schema(
        ("groups", CompactArray(("group_id", COMPACT_STRING), ("topics", _REQUEST_TOPICS), TAGS)),
        ("require_stable", Boolean),
        TAGS,
    )


class OffsetFetchRequest_v9(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 9
    RESPONSE_TYPE = OffsetFetchResponse_v9
    SCHEMA = Schema(
        (
            "groups",
            CompactArray(
                ("group_id", COMPACT_STRING),
                ("member_id", COMPACT_STRING),  # nullable
                ("member_epoch", Int32),
                ("topics", _REQUEST_TOPICS),
                TAGS,
            ),
        ),
        ("require_stable", Boolean),
        TAGS,
    )


class OffsetFetchGroupsRequest(Request[OffsetFetchRequest_v8 | OffsetFetchRequest_v9]):
    """Every committed offset of each of `groups` (all coordinated by the receiving broker),
    as an admin client asks: no member id, member epoch -1, RequireStable false."""

    API_KEY = API_KEY

    def __init__(self, groups: list[str]) -> None:
        self.groups = list(dict.fromkeys(groups))
        """The groups to ask for, each once (a broker answers a group asked twice twice)."""

    def build(self, request_struct_class: type[Any]) -> Any:
        """The request struct of the negotiated version."""
        groups: list[tuple[Any, ...]]
        if request_struct_class.API_VERSION == 8:
            groups = [(group, None, NO_TAGS) for group in self.groups]
        else:
            groups = [(group, None, -1, None, NO_TAGS) for group in self.groups]
        return request_struct_class(groups, False, NO_TAGS)

    def prepare(self, versions: ApiVersions) -> Any:
        """The request struct for a broker offering `versions`."""
        return negotiate(self, versions)


Committed = dict[tuple[str, int], int]
"""(topic, partition) -> committed offset."""


def decode_offset_fetch_groups(
    response: Response, asked: list[str]
) -> dict[str, Committed | KafkaError]:
    """Each group asked for -> its committed offsets (partitions without a commit, offset -1,
    left out), or the broker's error for that group (a group-level error code, or the first
    partition-level one). MalformedResponse when the answers do not match `asked` or an array
    is null."""
    top = Row.of(response)
    answers = by_group(top.rows("groups"), asked, "OffsetFetch")
    return {group: _committed(group, answer) for group, answer in answers.items()}


def _committed(group: str, answer: Row) -> Committed | KafkaError:
    error = answer.error(f"OffsetFetch failed for group {group}")
    if error is not None:
        return error
    out: Committed = {}
    for topic in answer.rows("topics"):
        name = topic.text("name")
        fields = ("partition_index", "committed_offset", "error_code")
        for partition, offset, code in topic.columns("partitions", *fields):
            if code:
                what = f"OffsetFetch failed for group {group} on {name}-{partition}"
                return for_code(code)(what)
            if offset >= 0:
                out[(name, partition)] = offset
    return out

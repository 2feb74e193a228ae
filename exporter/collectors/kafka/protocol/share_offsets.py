"""DescribeShareGroupOffsets (API key 90, KIP-932) v0-v1: each share group's start offset per
partition, many groups of one coordinator per request, every topic each group has state on (null
topics, allowed from v0). v1 adds the broker's lag per partition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, Int16, Int32, Int64, Schema

from exporter.collectors.kafka.protocol.api_versions import ApiVersions, negotiate
from exporter.collectors.kafka.protocol.rows import Row, by_group
from exporter.collectors.kafka.protocol.wire_types import COMPACT_STRING, NO_TAGS, TAGS, Uuid

API_KEY = 90

_REQUEST = Schema(
    (
        "groups",
        CompactArray(
            ("group_id", COMPACT_STRING),
            (
                "topics",  # nullable: null asks for every topic-partition of the group
                CompactArray(
                    ("topic_name", COMPACT_STRING), ("partitions", CompactArray(Int32)), TAGS
                ),
            ),
            TAGS,
        ),
    ),
    TAGS,
)


def _response(*partition_fields: tuple[str, Any]) -> Schema:
    partition = CompactArray(
        ("partition_index", Int32),
        ("start_offset", Int64),
        ("leader_epoch", Int32),
        *partition_fields,
        ("error_code", Int16),
        ("error_message", COMPACT_STRING),  # nullable
        TAGS,
    )
    topic = CompactArray(
        ("topic_name", COMPACT_STRING), ("topic_id", Uuid), ("partitions", partition), TAGS
    )
    group = CompactArray(
        ("group_id", COMPACT_STRING),
        ("topics", topic),
        ("error_code", Int16),
        ("error_message", COMPACT_STRING),  # nullable
        TAGS,
    )
    return Schema(("throttle_time_ms", Int32), ("groups", group), TAGS)


class DescribeShareGroupOffsetsResponse_v0(Response):
    API_KEY = API_KEY
    API_VERSION = 0
    SCHEMA = _response()


class DescribeShareGroupOffsetsResponse_v1(Response):
    API_KEY = API_KEY
    API_VERSION = 1
    SCHEMA = _response(("lag", Int64))


class DescribeShareGroupOffsetsRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 0
    RESPONSE_TYPE = DescribeShareGroupOffsetsResponse_v0
    SCHEMA = _REQUEST


class DescribeShareGroupOffsetsRequest_v1(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 1
    RESPONSE_TYPE = DescribeShareGroupOffsetsResponse_v1
    SCHEMA = _REQUEST


class DescribeShareGroupOffsetsRequest(
    Request[DescribeShareGroupOffsetsRequest_v0 | DescribeShareGroupOffsetsRequest_v1]
):
    """Start offsets (and lag, v1) of share groups `groups` on every topic-partition they
    have state on (all coordinated by the receiving broker)."""

    API_KEY = API_KEY

    def __init__(self, groups: list[str]) -> None:
        self.groups = list(dict.fromkeys(groups))
        """The groups to ask for, each once (a broker answers a group asked twice twice)."""

    def build(self, request_struct_class: type[Any]) -> Any:
        """The request struct of the negotiated version."""
        return request_struct_class([(group, None, NO_TAGS) for group in self.groups], NO_TAGS)

    def prepare(self, versions: ApiVersions) -> Any:
        """The request struct for a broker offering `versions`."""
        return negotiate(self, versions)


@dataclass(frozen=True)
class SharePartitionOffset:
    """One partition of a share group."""

    start_offset: int
    """The share-partition start offset: records below it are all delivery-complete."""
    lag: int | None
    """Records from the start offset not yet delivery-complete, as the broker counts them (v1);
    None when the broker does not say (v0, or -1: not known)."""


ShareOffsets = dict[tuple[str, int], SharePartitionOffset]
"""(topic, partition) -> start offset and lag."""


def decode_share_group_offsets(
    response: Response, asked: list[str]
) -> dict[str, ShareOffsets | KafkaError]:
    """Each group asked for -> its partitions (a start offset of -1, no state yet, left out),
    or the broker's error for that group (group-level, or the first partition-level one).
    MalformedResponse when the answers do not match `asked` or an array is null."""
    top = Row.of(response)
    answers = by_group(top.rows("groups"), asked, "DescribeShareGroupOffsets")
    return {group: _partitions(group, answer) for group, answer in answers.items()}


def _partitions(group: str, answer: Row) -> ShareOffsets | KafkaError:
    error = answer.error(f"DescribeShareGroupOffsets failed for group {group}")
    if error is not None:
        return error
    out: ShareOffsets = {}
    for topic in answer.rows("topics"):
        name = topic.text("topic_name")
        for part in topic.rows("partitions"):
            partition = part.get("partition_index")
            what = f"DescribeShareGroupOffsets failed for group {group} on {name}-{partition}"
            error = part.error(what)
            if error is not None:
                return error
            start = part.get("start_offset")
            if start < 0:
                continue
            lag = part.optional("lag")
            out[(name, partition)] = SharePartitionOffset(
                start, None if lag is None or lag < 0 else lag
            )
    return out

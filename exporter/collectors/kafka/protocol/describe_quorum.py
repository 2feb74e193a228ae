"""DescribeQuorum (API key 55) v0: the KRaft metadata quorum's leader, i.e. the active
controller. A broker forwards it to the controllers (what `kafka-metadata-quorum --bootstrap-server
describe --status` does). Needed because a KRaft broker's Metadata answer names a random live
broker as `controller_id` (KRaftMetadataCache), a different one from one request to the next.

Version 0 (Kafka's DescribeQuorumRequest/Response.json, flexible from v0): topic
__cluster_metadata, partition 0; the answer's partition carries leader_id (-1: unknown).
"""

from __future__ import annotations

from typing import Any

from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, Int16, Int32, Int64, Schema

from exporter.collectors.kafka.protocol.api_versions import ApiVersions, negotiate
from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.wire_types import COMPACT_STRING, NO_TAGS, TAGS

API_KEY = 55
METADATA_TOPIC = "__cluster_metadata"

_REPLICA = CompactArray(("replica_id", Int32), ("log_end_offset", Int64), TAGS)


class DescribeQuorumResponse_v0(Response):
    API_KEY = API_KEY
    API_VERSION = 0
    SCHEMA = Schema(
        ("error_code", Int16),
        (
            "topics",
            CompactArray(
                ("topic_name", COMPACT_STRING),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32),
                        ("error_code", Int16),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("high_watermark", Int64),
                        ("current_voters", _REPLICA),
                        ("observers", _REPLICA),
                        TAGS,
                    ),
                ),
                TAGS,
            ),
        ),
        TAGS,
    )


class DescribeQuorumRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 0
    RESPONSE_TYPE = DescribeQuorumResponse_v0
    SCHEMA = Schema(
        (
            "topics",
            CompactArray(
                ("topic_name", COMPACT_STRING),
                ("partitions", CompactArray(("partition_index", Int32), TAGS)),
                TAGS,
            ),
        ),
        TAGS,
    )


class DescribeQuorumRequest(Request[DescribeQuorumRequest_v0]):
    """The metadata quorum's state (its leader is the active controller)."""

    API_KEY = API_KEY

    def build(self, request_struct_class: type[Any]) -> Any:
        return request_struct_class([(METADATA_TOPIC, [(0, NO_TAGS)], NO_TAGS)], NO_TAGS)

    def prepare(self, versions: ApiVersions) -> Any:
        """The request struct for a broker offering `versions`."""
        return negotiate(self, versions)


def decode_quorum_leader(response: Response) -> int | None:
    """The quorum leader's node id (None: -1, not known); the broker's error raised as its
    KafkaError; MalformedResponse when the answer has no partition 0 of __cluster_metadata."""
    try:
        data: Any = response.to_object()
    except TypeError:  # a null array
        raise MalformedResponse("DescribeQuorum answer has a null array") from None
    if data["error_code"]:
        raise for_code(data["error_code"])("DescribeQuorum failed")
    for topic in data["topics"] or ():
        if topic["topic_name"] != METADATA_TOPIC:
            continue
        for part in topic["partitions"] or ():
            if part["partition_index"] == 0:
                if part["error_code"]:
                    raise for_code(part["error_code"])("DescribeQuorum failed")
                leader = part["leader_id"]
                return leader if leader >= 0 else None
    raise MalformedResponse("DescribeQuorum answered without __cluster_metadata partition 0")

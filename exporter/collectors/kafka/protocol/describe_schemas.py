"""Response layouts of ConsumerGroupDescribe (key 69), ShareGroupDescribe (key 77) and
StreamsGroupDescribe (key 89), transcribed from Kafka 4.4's message definitions. Every struct
ends in its tagged fields; nullable strings are compact strings (length 0 is null)."""

from __future__ import annotations

from typing import Any

from aiokafka.protocol.types import Boolean, CompactArray, Int8, Int16, Int32, Int64, Schema

from exporter.collectors.kafka.protocol.wire_types import (
    COMPACT_STRING,
    STRINGS,
    TAGS,
    NullableStruct,
    UInt16,
    Uuid,
)

S = COMPACT_STRING
NULLABLE_S = COMPACT_STRING
"""A compact nullable string (the same wire type, named for the reader)."""


def _array(*fields: tuple[str, Any]) -> CompactArray:
    """A compact array of structs with `fields`, then tagged fields."""
    return CompactArray(*fields, TAGS)


def _struct(*fields: tuple[str, Any]) -> Schema:
    """A struct with `fields`, then tagged fields."""
    return Schema(*fields, TAGS)


def _response(*group_fields: tuple[str, Any]) -> Schema:
    """ThrottleTimeMs, then Groups: an array of structs with `group_fields`."""
    return _struct(("throttle_time_ms", Int32), ("groups", _array(*group_fields)))


_GROUP_HEAD = (
    ("error_code", Int16),
    ("error_message", NULLABLE_S),
    ("group_id", S),
    ("group_state", S),
    ("group_epoch", Int32),
    ("assignment_epoch", Int32),
)

TOPIC_PARTITIONS = _struct(
    (
        "topic_partitions",
        _array(("topic_id", Uuid), ("topic_name", S), ("partitions", CompactArray(Int32))),
    )
)
"""A consumer or share member's assignment: partitions per topic (read by the `members`
option)."""


def _consumer_member(*extra: tuple[str, Any]) -> CompactArray:
    return _array(
        ("member_id", S),
        ("instance_id", NULLABLE_S),
        ("rack_id", NULLABLE_S),
        ("member_epoch", Int32),
        ("client_id", S),
        ("client_host", S),
        ("subscribed_topic_names", STRINGS),
        ("subscribed_topic_regex", NULLABLE_S),
        ("assignment", TOPIC_PARTITIONS),
        ("target_assignment", TOPIC_PARTITIONS),
        *extra,
    )


CONSUMER_V0 = _response(
    *_GROUP_HEAD,
    ("assignor_name", S),
    ("members", _consumer_member()),
    ("authorized_operations", Int32),
)
CONSUMER_V1 = _response(
    *_GROUP_HEAD,
    ("assignor_name", S),
    ("members", _consumer_member(("member_type", Int8))),
    ("authorized_operations", Int32),
)
"""v1 adds each member's MemberType (classic or consumer protocol)."""

SHARE_V1 = _response(
    *_GROUP_HEAD,
    ("assignor_name", S),
    (
        "members",
        _array(
            ("member_id", S),
            ("rack_id", NULLABLE_S),
            ("member_epoch", Int32),
            ("client_id", S),
            ("client_host", S),
            ("subscribed_topic_names", STRINGS),
            ("assignment", TOPIC_PARTITIONS),
        ),
    ),
    ("authorized_operations", Int32),
)
"""ShareGroupDescribe v0 (Kafka 4.0 early access) is gone since Kafka 4.1; v1 is the first."""

_KEY_VALUES = _array(("key", S), ("value", S))
_TOPIC_INFO = _array(
    ("name", S),
    ("partitions", Int32),
    ("replication_factor", Int16),
    ("topic_configs", _KEY_VALUES),
)
_TOPOLOGY = NullableStruct(
    ("epoch", Int32),
    (
        "subtopologies",
        _array(  # nullable
            ("subtopology_id", S),
            ("source_topics", STRINGS),
            ("repartition_sink_topics", STRINGS),
            ("state_changelog_topics", _TOPIC_INFO),
            ("repartition_source_topics", _TOPIC_INFO),
        ),
    ),
    TAGS,
)
_TASK_IDS = _array(("subtopology_id", S), ("partitions", CompactArray(Int32)))
_TASK_OFFSETS = _array(("subtopology_id", S), ("partition", Int32), ("offset", Int64))
_ASSIGNMENT = _struct(
    ("active_tasks", _TASK_IDS), ("standby_tasks", _TASK_IDS), ("warmup_tasks", _TASK_IDS)
)
_STREAMS_MEMBER = _array(
    ("member_id", S),
    ("member_epoch", Int32),
    ("instance_id", NULLABLE_S),
    ("rack_id", NULLABLE_S),
    ("client_id", S),
    ("client_host", S),
    ("topology_epoch", Int32),
    ("process_id", S),
    ("user_endpoint", NullableStruct(("host", S), ("port", UInt16), TAGS)),
    ("client_tags", _KEY_VALUES),
    ("task_offsets", _TASK_OFFSETS),
    ("task_end_offsets", _TASK_OFFSETS),
    ("assignment", _ASSIGNMENT),
    ("target_assignment", _ASSIGNMENT),
    ("is_classic", Boolean),
)
_STREAMS_GROUP_V0 = (
    *_GROUP_HEAD,
    ("topology", _TOPOLOGY),
    ("members", _STREAMS_MEMBER),
    ("authorized_operations", Int32),
)
_TOPOLOGY_NODE = (
    ("name", S),
    ("node_type", Int8),
    ("source_topics", STRINGS),
    ("sink_topic", NULLABLE_S),
    ("stores", STRINGS),
    ("successors", STRINGS),
)
_TOPOLOGY_DESCRIPTION = NullableStruct(
    ("subtopologies", _array(("subtopology_id", S), ("nodes", _array(*_TOPOLOGY_NODE)))),
    (
        "global_stores",
        _array(("source", _struct(*_TOPOLOGY_NODE)), ("processor", _struct(*_TOPOLOGY_NODE))),
    ),
    TAGS,
)

STREAMS_V0 = _response(*_STREAMS_GROUP_V0)
STREAMS_V1 = _response(
    *_STREAMS_GROUP_V0,
    ("topology_description", _TOPOLOGY_DESCRIPTION),
    ("topology_description_status", Int8),
    ("assignor_name", NULLABLE_S),
)
"""v1 (KIP-1331) adds the topology description (null unless asked for) and the assignor."""

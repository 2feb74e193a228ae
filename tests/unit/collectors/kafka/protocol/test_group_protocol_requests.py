"""The group API requests on the wire (exact bytes per version), version negotiation, and the
wire types aiokafka lacks."""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

import pytest
from aiokafka.errors import IncompatibleBrokerVersion, KafkaError
from aiokafka.protocol.types import Int32, TaggedFields

from exporter.collectors.kafka.protocol.api_versions import supports
from exporter.collectors.kafka.protocol.group_describe import (
    ConsumerGroupDescribeRequest,
    ShareGroupDescribeRequest,
    StreamsGroupDescribeRequest,
)
from exporter.collectors.kafka.protocol.list_groups import ListGroupsRequest
from exporter.collectors.kafka.protocol.offset_fetch import OffsetFetchGroupsRequest
from exporter.collectors.kafka.protocol.share_offsets import DescribeShareGroupOffsetsRequest
from exporter.collectors.kafka.protocol.wire_types import NullableStruct, UInt16, Uuid

KAFKA_4 = {9: (1, 10), 16: (0, 5), 69: (0, 1), 77: (1, 1), 89: (0, 1), 90: (0, 1)}
"""What Kafka 4.4.0 offers (recorded/manifest.json)."""


def sent(request: Any, version: int) -> tuple[Any, bytes]:
    """The struct `request` sends to a broker offering only `version`, and its body bytes."""
    struct = request.prepare({request.API_KEY: (version, version)})
    assert version == struct.API_VERSION
    return struct, struct.encode()


@pytest.mark.parametrize(
    ("version", "body", "flexible"),
    [(0, b"", False), (1, b"", False), (2, b"", False), (3, b"\x00", True),
     (4, b"\x01\x00", True), (5, b"\x01\x01\x00", True)],
)  # fmt: skip
def test_list_groups_asks_for_every_state_and_type(
    version: int, body: bytes, flexible: bool
) -> None:
    struct, encoded = sent(ListGroupsRequest(), version)
    assert encoded == body  # v4+: empty StatesFilter, v5: empty TypesFilter (no filtering)
    assert struct.FLEXIBLE_VERSION is flexible
    header = struct.build_request_header(7, "khe").encode()
    assert header == b"\x00\x10" + version.to_bytes(2, "big") + b"\x00\x00\x00\x07\x00\x03khe" + (
        b"\x00" if flexible else b""
    )


def test_offset_fetch_asks_each_group_once_for_every_committed_partition() -> None:
    request = OffsetFetchGroupsRequest(["a", "bc", "a"])
    # groups: 2 (+1); "a", topics null, tags; "bc", ...; require_stable false; tags
    assert sent(request, 8)[1] == b"\x03" + b"\x02a\x00\x00" + b"\x03bc\x00\x00" + b"\x00\x00"
    # v9: member id null and member epoch -1 between the group id and the topics
    assert sent(request, 9)[1] == (
        b"\x03" + b"\x02a\x00\xff\xff\xff\xff\x00\x00" + b"\x03bc\x00\xff\xff\xff\xff\x00\x00"
        b"\x00\x00"
    )
    assert request.prepare(KAFKA_4).API_VERSION == 9


@pytest.mark.parametrize(
    ("make", "version", "body"),
    [(ConsumerGroupDescribeRequest, 0, b"\x03\x02a\x02b\x00\x00"),
     (ConsumerGroupDescribeRequest, 1, b"\x03\x02a\x02b\x00\x00"),
     (ShareGroupDescribeRequest, 1, b"\x03\x02a\x02b\x00\x00"),
     (StreamsGroupDescribeRequest, 0, b"\x03\x02a\x02b\x00\x00"),
     (StreamsGroupDescribeRequest, 1, b"\x03\x02a\x02b\x00\x00\x00"),  # + no topology description
     (DescribeShareGroupOffsetsRequest, 0, b"\x03\x02a\x00\x00\x02b\x00\x00\x00"),  # topics null
     (DescribeShareGroupOffsetsRequest, 1, b"\x03\x02a\x00\x00\x02b\x00\x00\x00")],
)  # fmt: skip
def test_describe_requests_ask_for_groups_without_authorized_operations(
    make: Any, version: int, body: bytes
) -> None:
    struct, encoded = sent(make(["a", "b", "b"]), version)
    assert encoded == body
    assert struct.FLEXIBLE_VERSION


@pytest.mark.parametrize(
    ("make", "highest"),
    [(ListGroupsRequest, 5), (OffsetFetchGroupsRequest, 9), (ConsumerGroupDescribeRequest, 1),
     (ShareGroupDescribeRequest, 1), (StreamsGroupDescribeRequest, 1),
     (DescribeShareGroupOffsetsRequest, 1)],
)  # fmt: skip
def test_negotiation_picks_the_highest_common_version(make: Any, highest: int) -> None:
    request = make() if make is ListGroupsRequest else make(["a"])
    assert highest == request.prepare(KAFKA_4).API_VERSION


@pytest.mark.parametrize(
    ("make", "versions"),
    [(OffsetFetchGroupsRequest, {9: (0, 7)}),  # a broker before KIP-709 (Kafka < 3.0)
     (ShareGroupDescribeRequest, {77: (0, 0)}),  # Kafka 4.0's early-access v0 only
     (ShareGroupDescribeRequest, {}),  # no share groups at all (Kafka 3.9, Tansu)
     (DescribeShareGroupOffsetsRequest, {9: (0, 9)})],
)  # fmt: skip
def test_a_broker_without_a_common_version_is_a_kafka_error(make: Any, versions: Any) -> None:
    with pytest.raises(IncompatibleBrokerVersion) as raised:
        make(["a"]).prepare(versions)
    assert isinstance(raised.value, KafkaError)


def test_supports() -> None:
    assert supports(KAFKA_4, 9, 8) and supports(KAFKA_4, 9, 10) and supports(KAFKA_4, 77, 1)
    assert not supports(KAFKA_4, 9, 0) and not supports(KAFKA_4, 77, 0)
    assert not supports(KAFKA_4, 91, 0) and not supports({}, 16, 0)


def test_uuid_uint16_and_nullable_struct_on_the_wire() -> None:
    topic_id = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    assert Uuid.encode(topic_id) == bytes.fromhex("00112233445566778899aabbccddeeff")
    assert Uuid.decode(BytesIO(topic_id.bytes)) == topic_id
    assert UInt16.encode(65535) == b"\xff\xff" and UInt16.decode(BytesIO(b"\xff\xfe")) == 65534
    endpoint = NullableStruct(("port", Int32), ("tags", TaggedFields))
    assert endpoint.encode(None) == b"\xff" and endpoint.decode(BytesIO(b"\xff")) is None
    assert endpoint.encode((9, {})) == b"\x01\x00\x00\x00\x09\x00"
    assert endpoint.decode(BytesIO(b"\x01\x00\x00\x00\x09\x00")) == (9, {})
    for short in (Uuid.decode, UInt16.decode, endpoint.decode):
        with pytest.raises(ValueError):
            short(BytesIO(b"\x01"))

"""The bounded decoder: every recorded broker answer decodes exactly as aiokafka decodes it; an
impossible array length, a count over a cap, invalid UTF-8 and a stop request each end the
decode at once with an error naming the field and the byte offset."""

from __future__ import annotations

import threading
from io import BytesIO

import pytest
from aiokafka.protocol.types import Int32, UnsignedVarInt32

from exporter.collectors.kafka.protocol.bounded_decode import decode_bounded
from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.decode_bounds import (
    ARRAY_LIMITS,
    DecodeStopped,
    ResponseLimitExceeded,
)
from exporter.collectors.kafka.protocol.group_describe import ConsumerGroupDescribeResponse_v1
from exporter.collectors.kafka.protocol.offset_fetch import OffsetFetchResponse_v8
from exporter.collectors.kafka.read import broker_features
from tests.support.record_group_responses import manifest, recorded, response_types


@pytest.mark.parametrize("name", sorted(manifest()["files"]))
def test_recorded_answers_decode_as_aiokafka_decodes_them(name: str) -> None:
    entry = manifest()["files"][name]
    response_type = response_types()[(entry["api_key"], entry["version"])]
    raw = recorded(name)
    assert decode_bounded(response_type, BytesIO(raw)) == response_type.decode(BytesIO(raw))


def test_an_array_longer_than_the_bytes_left_is_malformed() -> None:
    raw = Int32.encode(0) + UnsignedVarInt32.encode(2**31 + 1)
    with pytest.raises(MalformedResponse, match=r"groups at byte 4 of the 9-byte frame: array"):
        decode_bounded(OffsetFetchResponse_v8, BytesIO(raw))


def _members(count: int) -> bytes:
    """A ConsumerGroupDescribe v1 answer: one group with `count` empty members."""
    empty = ([], {})
    member = ("", None, None, 0, "", "", [], None, empty, empty, 1, {})
    group = (0, None, "g", "Stable", 1, 1, "uniform", [member] * count, 0, {})
    return ConsumerGroupDescribeResponse_v1(0, [group], {}).encode()


def test_members_over_the_cap_are_refused_before_decoding() -> None:
    cap = ARRAY_LIMITS["members"]
    assert decode_bounded(ConsumerGroupDescribeResponse_v1, BytesIO(_members(cap))).groups
    with pytest.raises(ResponseLimitExceeded, match=f"{cap + 1} elements, over the limit of {cap}"):
        decode_bounded(ConsumerGroupDescribeResponse_v1, BytesIO(_members(cap + 1)))


def test_invalid_utf8_names_the_offset() -> None:
    raw = _members(1).replace(b"Stable", b"\xfftable")
    with pytest.raises(
        MalformedResponse,
        match=r"groups.group_state at byte 10 of the 57-byte frame: UnicodeDecodeError",
    ):
        decode_bounded(ConsumerGroupDescribeResponse_v1, BytesIO(raw))


def test_a_stopped_decode_ends() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(DecodeStopped):
        decode_bounded(ConsumerGroupDescribeResponse_v1, BytesIO(_members(10)), stop)


def test_what_brokers_offer_is_said_once_per_change() -> None:
    only_v1 = {16: (0, 5), 9: (0, 9), 69: (0, 1), 77: (1, 1), 90: (1, 1)}
    line = broker_features.summary([only_v1])
    assert line is not None
    offered, _, lacking = line.partition("the brokers do not offer")
    assert "share group offsets (DescribeShareGroupOffsets, KIP-932)" in offered
    assert "streams groups (StreamsGroupDescribe, KIP-1071)" in lacking
    assert "DescribeShareGroupOffsets" not in lacking
    said = broker_features.FeatureLog()
    assert said.changed([only_v1]) == line
    assert said.changed([only_v1]) is None
    assert said.changed([{**only_v1, 89: (0, 1)}]) is not None

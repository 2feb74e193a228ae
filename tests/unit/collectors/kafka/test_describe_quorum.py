"""DescribeQuorum v0 as Kafka's schema has it: request bytes, the leader decoded, errors raised."""

from __future__ import annotations

import pytest
from aiokafka.errors import ClusterAuthorizationFailedError

from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.describe_quorum import (
    DescribeQuorumRequest,
    DescribeQuorumResponse_v0,
    decode_quorum_leader,
)
from exporter.collectors.kafka.protocol.wire_types import NO_TAGS


def _answer(leader: int, top: int = 0, part: int = 0, topic: str = "__cluster_metadata") -> bytes:
    voters = [(1, 10, NO_TAGS), (2, 10, NO_TAGS)]
    partition = (0, part, leader, 4, 10, voters, [], NO_TAGS)
    body = DescribeQuorumResponse_v0(top, [(topic, [partition], NO_TAGS)], NO_TAGS)
    return body.encode()


def test_request_names_the_metadata_partition() -> None:
    struct = DescribeQuorumRequest().prepare({55: (0, 2)})
    assert struct.API_VERSION == 0
    # compact array of 1 topic, compact string "__cluster_metadata", 1 partition (0), tags
    assert struct.encode() == b"\x02\x13__cluster_metadata\x02\x00\x00\x00\x00\x00\x00\x00"


def test_leader_decoded_and_errors_raised() -> None:
    decode = DescribeQuorumResponse_v0.decode
    assert decode_quorum_leader(decode(_answer(3))) == 3
    assert decode_quorum_leader(decode(_answer(-1))) is None
    with pytest.raises(ClusterAuthorizationFailedError):
        decode_quorum_leader(decode(_answer(3, top=31)))
    with pytest.raises(ClusterAuthorizationFailedError):
        decode_quorum_leader(decode(_answer(3, part=31)))
    with pytest.raises(MalformedResponse, match="without __cluster_metadata partition 0"):
        decode_quorum_leader(decode(_answer(3, topic="other")))

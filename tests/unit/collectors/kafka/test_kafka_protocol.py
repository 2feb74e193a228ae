"""Decoding of broker answers: one odd group never fails the others; garbled batches are caught."""

from __future__ import annotations

import io

import pytest
from aiokafka.protocol.admin import DescribeGroupsResponse_v0

from exporter.collectors.kafka.protocol.classic import MalformedResponse, decode_describe_groups


def _wire(groups: list[tuple[int, str | None, str, int]]) -> DescribeGroupsResponse_v0:
    """A DescribeGroups v0 answer, encoded to bytes and decoded back like a broker's."""
    member = ("m", "client", "/10.0.0.1", b"", b"")
    response = DescribeGroupsResponse_v0(
        groups=[
            (code, name, state, "consumer", "range", [member] * n)
            for code, name, state, n in groups
        ]
    )
    return DescribeGroupsResponse_v0.decode(io.BytesIO(response.encode()))


def test_a_group_answered_with_an_error_is_left_out_not_fatal() -> None:
    response = _wire([(0, "billing", "Stable", 2), (14, "loading", "", 0), (0, "idle", "Empty", 0)])
    found = decode_describe_groups(response, ["billing", "loading", "idle"])
    assert found == {"billing": ("Stable", 2), "idle": ("Empty", 0)}


def test_answers_for_groups_not_asked_or_missing_are_malformed() -> None:
    with pytest.raises(MalformedResponse):
        decode_describe_groups(
            _wire([(0, "billing", "Stable", 1), (-1, None, "", 0)]), ["billing", "idle"]
        )
    with pytest.raises(MalformedResponse):
        decode_describe_groups(_wire([(0, "billing", "Stable", 1)]), ["billing", "idle"])
    with pytest.raises(MalformedResponse):
        decode_describe_groups(_wire([(0, "a", "Stable", 1), (0, "a", "Stable", 1)]), ["a", "b"])

"""Hostile and odd answers to the group API requests: null arrays and strings, answers for groups
not asked for, per-group and per-partition errors, truncated bytes. Each is an error with context
(MalformedResponse, the broker's KafkaError, aiokafka's decode error), never a silent value."""

from __future__ import annotations

import struct
import uuid
from io import BytesIO
from typing import Any

import pytest
from aiokafka.errors import (
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    GroupAuthorizationFailedError,
    GroupIdNotFound,
    NotCoordinatorError,
    UnknownTopicOrPartitionError,
)

from exporter.collectors.kafka.protocol import group_describe as describe
from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.group_describe import GroupDescription
from exporter.collectors.kafka.protocol.list_groups import (
    ListedGroup,
    ListGroupsResponse_v0,
    ListGroupsResponse_v4,
    ListGroupsResponse_v5,
    decode_list_groups,
)
from exporter.collectors.kafka.protocol.offset_fetch import (
    OffsetFetchResponse_v8,
    OffsetFetchResponse_v9,
    decode_offset_fetch_groups,
)
from exporter.collectors.kafka.protocol.share_offsets import (
    DescribeShareGroupOffsetsResponse_v0,
    DescribeShareGroupOffsetsResponse_v1,
    SharePartitionOffset,
    decode_share_group_offsets,
)
from tests.support.record_group_responses import manifest, recorded, response_types

T: dict[int, bytes] = {}
"""Empty tagged fields."""
TOPIC_ID = uuid.UUID("5f1d7c2e-0000-4000-8000-000000000001")


def wire(response_type: Any, *values: Any) -> Any:
    """A response as a broker would send it: `values` encoded, then decoded by our codec."""
    data = BytesIO(response_type(*values).encode())
    response = response_type.decode(data)
    assert data.read() == b""
    return response


# ListGroups


def test_list_groups_null_groups_or_null_strings_are_malformed() -> None:
    with pytest.raises(MalformedResponse, match="groups is a null array"):
        decode_list_groups(wire(ListGroupsResponse_v5, 0, 0, None, T))
    with pytest.raises(MalformedResponse):
        decode_list_groups(wire(ListGroupsResponse_v0, 0, None))
    with pytest.raises(MalformedResponse, match="group_id is null"):
        decode_list_groups(
            wire(ListGroupsResponse_v5, 0, 0, [(None, "", "Empty", "classic", T)], T)
        )
    with pytest.raises(MalformedResponse, match="group_state is null"):
        decode_list_groups(wire(ListGroupsResponse_v4, 0, 0, [("a", "consumer", None, T)], T))


def test_list_groups_raises_the_brokers_error() -> None:
    with pytest.raises(CoordinatorNotAvailableError):
        decode_list_groups(wire(ListGroupsResponse_v5, 0, 15, [], T))
    with pytest.raises(CoordinatorLoadInProgressError):
        decode_list_groups(wire(ListGroupsResponse_v0, 14, []))


def test_list_groups_v5_names_every_type() -> None:
    groups = [("c", "consumer", "Stable", "consumer", T), ("s", "share", "Empty", "share", T),
              ("st", "streams", "NotReady", "streams", T), ("k", "", "Empty", "classic", T)]  # fmt: skip
    assert decode_list_groups(wire(ListGroupsResponse_v5, 0, 0, groups, T)) == [
        ListedGroup("c", "consumer", "Stable", "consumer"),
        ListedGroup("s", "share", "Empty", "share"),
        ListedGroup("st", "streams", "NotReady", "streams"),
        ListedGroup("k", "", "Empty", "classic"),
    ]


# OffsetFetch


def _partition(partition: int, offset: int, error: int = 0) -> tuple[Any, ...]:
    return (partition, offset, -1, "", error, T)


def _fetched(*groups: tuple[Any, ...]) -> Any:
    return wire(OffsetFetchResponse_v9, 0, list(groups), T)


def test_offset_fetch_leaves_out_partitions_without_commit() -> None:
    response = _fetched(
        ("a", [("t", [_partition(0, 4), _partition(1, -1)], T)], 0, T),
        ("b", [], 0, T),
    )
    assert decode_offset_fetch_groups(response, ["a", "b"]) == {"a": {("t", 0): 4}, "b": {}}


def test_offset_fetch_errors_belong_to_their_group_only() -> None:
    response = _fetched(
        ("a", [], 16, T),  # NOT_COORDINATOR for the whole group
        ("b", [("t", [_partition(0, 4), _partition(1, 9, 3)], T)], 0, T),  # one partition failed
        ("c", [("t", [_partition(0, 2)], T)], 0, T),
    )
    found = decode_offset_fetch_groups(response, ["a", "b", "c"])
    assert isinstance(found["a"], NotCoordinatorError)
    assert isinstance(found["b"], UnknownTopicOrPartitionError)
    assert found["b"].args == ("OffsetFetch failed for group b on t-1",)
    assert found["c"] == {("t", 0): 2}


@pytest.mark.parametrize(
    ("groups", "asked"),
    [
        ([("a", [], 0, T), ("x", [], 0, T)], ["a", "b"]),  # a group not asked for
        ([("a", [], 0, T), ("a", [], 0, T)], ["a", "b"]),  # the same group twice
        ([("a", [], 0, T)], ["a", "b"]),  # a group missing
        ([("a", [], 0, T), (None, [], 0, T)], ["a", "b"]),  # a null group id
    ],
)
def test_offset_fetch_answers_that_do_not_match_the_question_are_malformed(
    groups: list[Any], asked: list[str]
) -> None:
    with pytest.raises(MalformedResponse, match="OffsetFetch"):
        decode_offset_fetch_groups(wire(OffsetFetchResponse_v8, 0, groups, T), asked)


@pytest.mark.parametrize(
    "groups",
    [None, [("a", None, 0, T)], [("a", [("t", None, T)], 0, T)], [("a", [(None, [], T)], 0, T)]],
)
def test_offset_fetch_null_arrays_and_topic_names_are_malformed(groups: Any) -> None:
    with pytest.raises(MalformedResponse):
        decode_offset_fetch_groups(wire(OffsetFetchResponse_v9, 0, groups, T), ["a"])


# ConsumerGroupDescribe, ShareGroupDescribe, StreamsGroupDescribe

ASSIGNMENT = ([(TOPIC_ID, "t", [0, 1], T)], T)
CONSUMER_MEMBER_V1 = (
    "m1",
    None,
    None,
    3,
    "client",
    "/127.0.0.1",
    ["t"],
    None,
    ASSIGNMENT,
    ASSIGNMENT,
    1,
    T,
)
SHARE_MEMBER = ("m1", None, 3, "client", "/127.0.0.1", ["t"], ASSIGNMENT, T)
TASKS: tuple[Any, ...] = ([("0", [0, 1], T)], [], [], T)
STREAMS_MEMBER = ("m1", 3, None, None, "client", "/127.0.0.1", 2, "process", ("localhost", 8080, T),
                  [("k", "v", T)], [("0", 0, 12, T)], [("0", 0, 20, T)], TASKS, TASKS, False, T)  # fmt: skip
TOPOLOGY: tuple[Any, ...] = (
    2,
    [
        (
            "0",
            ["in"],
            [],
            [("app-store-changelog", 2, 1, [("cleanup.policy", "compact", T)], T)],
            [],
            T,
        )
    ],
    T,
)


def _group(head: tuple[Any, ...], *rest: Any) -> tuple[Any, ...]:
    return (*head, *rest, T)


def _described(response_type: Any, groups: Any) -> Any:
    return wire(response_type, 0, groups, T)


def consumer(code: int, group: Any, state: Any, members: Any) -> Any:
    return _group((code, None, group, state, 5, 5), "uniform", members, -2147483648)


def share(code: int, group: Any, state: Any, members: Any) -> Any:
    return _group((code, None, group, state, 5, 5), "simple", members, -2147483648)


def streams_v1(code: int, group: Any, state: Any, members: Any, topology: Any = TOPOLOGY) -> Any:
    head = (code, None, group, state, 5, 5)
    return _group(head, topology, members, -2147483648, None, 0, "sticky")


KINDS = [
    (describe.ConsumerGroupDescribeResponse_v1, consumer, CONSUMER_MEMBER_V1),
    (describe.ShareGroupDescribeResponse_v1, share, SHARE_MEMBER),
    (describe.StreamsGroupDescribeResponse_v1, streams_v1, STREAMS_MEMBER),
]


@pytest.mark.parametrize(("response_type", "group", "member"), KINDS)
def test_describe_gives_state_and_member_count_and_each_groups_error(
    response_type: Any, group: Any, member: Any
) -> None:
    groups = [group(0, "a", "Stable", [member, member]), group(0, "b", "Empty", []),
              group(69, "c", "", []), group(30, "d", "", [])]  # fmt: skip
    found = describe.decode_group_describe(_described(response_type, groups), ["a", "b", "c", "d"])
    assert found["a"] == GroupDescription("Stable", 2)
    assert found["b"] == GroupDescription("Empty", 0)
    assert isinstance(found["c"], GroupIdNotFound)
    assert isinstance(found["d"], GroupAuthorizationFailedError)


@pytest.mark.parametrize(("response_type", "group", "member"), KINDS)
@pytest.mark.parametrize(
    ("entries", "asked"),
    [
        ([("a", "Stable", []), ("x", "Stable", [])], ["a", "b"]),
        ([("a", "Stable", []), ("a", "Stable", [])], ["a", "b"]),
        ([("a", "Stable", [])], ["a", "b"]),
        ([("a", "Stable", None)], ["a"]),  # null members
        ([("a", None, [])], ["a"]),  # null state
        (None, ["a"]),  # null groups
    ],
)
def test_describe_answers_that_do_not_fit_are_malformed(
    response_type: Any, group: Any, member: Any, entries: Any, asked: list[str]
) -> None:
    groups = None if entries is None else [group(0, g, s, m) for g, s, m in entries]
    with pytest.raises(MalformedResponse):
        describe.decode_group_describe(_described(response_type, groups), asked)


def test_streams_describe_takes_a_null_topology_and_null_endpoint() -> None:
    member = (*STREAMS_MEMBER[:8], None, *STREAMS_MEMBER[9:])
    groups = [streams_v1(0, "a", "NotReady", [member], topology=None),
              streams_v1(0, "b", "Stable", [], topology=(1, None, T))]  # fmt: skip
    response = _described(describe.StreamsGroupDescribeResponse_v1, groups)
    assert describe.decode_group_describe(response, ["a", "b"]) == {
        "a": GroupDescription("NotReady", 1),
        "b": GroupDescription("Stable", 0),
    }


# DescribeShareGroupOffsets


def _share_partition(partition: int, start: int, lag: int | None, error: int = 0) -> Any:
    middle = () if lag is None else (lag,)
    return (partition, start, 0, *middle, error, None, T)


def test_share_offsets_lag_is_none_when_unknown_and_unstarted_partitions_are_left_out() -> None:
    partitions = [
        _share_partition(0, 10, 4),
        _share_partition(1, 7, -1),
        _share_partition(2, -1, -1),
    ]
    response = wire(
        DescribeShareGroupOffsetsResponse_v1,
        0,
        [("s", [("t", TOPIC_ID, partitions, T)], 0, None, T)],
        T,
    )
    assert decode_share_group_offsets(response, ["s"]) == {
        "s": {("t", 0): SharePartitionOffset(10, 4), ("t", 1): SharePartitionOffset(7, None)}
    }


def test_share_offsets_v0_has_no_lag() -> None:
    partitions = [_share_partition(0, 10, None)]
    response = wire(
        DescribeShareGroupOffsetsResponse_v0,
        0,
        [("s", [("t", TOPIC_ID, partitions, T)], 0, None, T)],
        T,
    )
    assert decode_share_group_offsets(response, ["s"]) == {
        "s": {("t", 0): SharePartitionOffset(10, None)}
    }


def test_share_offsets_errors_belong_to_their_group_only() -> None:
    groups = [
        ("a", [], 69, "Group a not found.", T),
        (
            "b",
            [("t", TOPIC_ID, [_share_partition(0, 3, 1), _share_partition(1, 3, 1, 3)], T)],
            0,
            None,
            T,
        ),
        ("c", [("t", TOPIC_ID, [_share_partition(0, 3, 0)], T)], 0, None, T),
    ]
    found = decode_share_group_offsets(
        wire(DescribeShareGroupOffsetsResponse_v1, 0, groups, T), ["a", "b", "c"]
    )
    assert isinstance(found["a"], GroupIdNotFound) and found["a"].args == ("Group a not found.",)
    assert isinstance(found["b"], UnknownTopicOrPartitionError)
    assert found["c"] == {("t", 0): SharePartitionOffset(3, 0)}


@pytest.mark.parametrize(
    ("groups", "asked"),
    [
        (None, ["a"]),
        ([("a", None, 0, None, T)], ["a"]),
        ([("a", [("t", TOPIC_ID, None, T)], 0, None, T)], ["a"]),
        ([("a", [], 0, None, T), ("z", [], 0, None, T)], ["a", "b"]),
        ([("a", [], 0, None, T)], ["a", "b"]),
    ],
)
def test_share_offsets_answers_that_do_not_fit_are_malformed(groups: Any, asked: list[str]) -> None:
    with pytest.raises(MalformedResponse):
        decode_share_group_offsets(wire(DescribeShareGroupOffsetsResponse_v1, 0, groups, T), asked)


# Truncated bytes


@pytest.mark.parametrize("name", sorted(manifest()["files"]))
def test_every_truncation_of_a_recorded_answer_fails_to_decode(name: str) -> None:
    """aiokafka's connection turns a decode error into KafkaConnectionError for the caller."""
    entry = manifest()["files"][name]
    response_type = response_types()[(entry["api_key"], entry["version"])]
    raw = recorded(name)
    for cut in range(len(raw)):
        with pytest.raises((ValueError, struct.error)):
            response_type.decode(BytesIO(raw[:cut]))

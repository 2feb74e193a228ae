"""The `members` option without a broker: member details decoded from encoded describe answers
(DescribeGroups v4 with the consumer protocol's assignment bytes, ConsumerGroupDescribe v1,
StreamsGroupDescribe v1, and answers recorded from Kafka 4.4 against its Java Admin) and the two
member families made from a read state."""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.protocol.admin import DescribeGroupsResponse_v3

from exporter.collectors.kafka.metrics import member_metrics
from exporter.collectors.kafka.protocol import classic
from exporter.collectors.kafka.protocol import group_describe as describe
from exporter.collectors.kafka.protocol.bounded_decode import decode_bounded
from exporter.collectors.kafka.protocol.classic import DescribeGroupsResponse_v4
from exporter.collectors.kafka.protocol.group_describe import GroupDescription
from exporter.collectors.kafka.state import ClusterState, GroupInfo, MemberDetail
from tests.support.record_group_responses import manifest, recorded, response_types

T: dict[int, bytes] = {}
TOPIC_ID = uuid.UUID("5f1d7c2e-0000-4000-8000-000000000001")


def _wire(response_type: Any, *values: Any) -> Any:
    """Encoded, then decoded the way the reader decodes a reply (bounded)."""
    return decode_bounded(response_type, BytesIO(response_type(*values).encode()))


def _assignment(*topics: tuple[str, list[int]], version: int = 3) -> bytes:
    return ConsumerProtocolMemberAssignment(version, list(topics), b"").encode()


def test_describe_groups_v4_members_with_instance_ids_and_assignments() -> None:
    static = (
        "m-1",
        "app-0",
        "app-client-0",
        "/10.0.0.7",
        b"",
        _assignment(("t", [0, 2]), ("u", [1])),
    )
    dynamic = ("m-2", None, "app-client-1", "/10.0.0.8", b"", _assignment(("t", [1]), version=0))
    waiting = ("m-3", None, "app-client-2", "/10.0.0.9", b"", b"")  # not assigned yet
    connect = ("w-1", None, "worker", "/10.0.0.5", b"", b"\x00\x01garbage")
    response = _wire(
        DescribeGroupsResponse_v4,
        0,
        [
            (0, "app", "Stable", "consumer", "range", [static, dynamic, waiting], -2147483648),
            (0, "workers", "Stable", "connect", "sessioned", [connect], -2147483648),
            (16, "moved", "", "", "", [], -2147483648),
        ],
    )
    assert classic.decode_describe_groups(response, ["app", "workers", "moved"]) == {
        "app": ("Stable", 3),
        "workers": ("Stable", 1),
    }
    assert classic.decode_group_members(response) == {
        "app": (
            MemberDetail("m-1", "app-client-0", "/10.0.0.7", "app-0", 3),
            MemberDetail("m-2", "app-client-1", "/10.0.0.8", None, 1),
            MemberDetail("m-3", "app-client-2", "/10.0.0.9", None, 0),
        ),
        "workers": (MemberDetail("w-1", "worker", "/10.0.0.5", None, None),),
    }


def test_describe_groups_v3_has_no_instance_ids_and_bad_assignment_bytes_are_unknown() -> None:
    member = ("m-1", "c", "/h", b"", b"\x00\x03\x7f\xff\xff\xff")  # an array longer than the bytes
    response = _wire(
        DescribeGroupsResponse_v3, 0, [(0, "g", "Stable", "consumer", "range", [member], 0)]
    )
    assert classic.decode_group_members(response) == {"g": (MemberDetail("m-1", "c", "/h"),)}


def test_the_members_request_asks_v4_only_when_the_option_is_on() -> None:
    versions = {15: (0, 6)}
    assert classic.describe_groups_request(["g"]).prepare(versions).API_VERSION == 3
    assert classic.describe_groups_request(["g"], True).prepare(versions).API_VERSION == 4
    assert classic.describe_groups_request(["g"], True).prepare({15: (0, 3)}).API_VERSION == 3


def _partitions(*topics: tuple[str, list[int]]) -> tuple[Any, ...]:
    return ([(TOPIC_ID, name, parts, T) for name, parts in topics], T)


def _consumer_member(member: str, instance: str | None, assigned: tuple[Any, ...]) -> Any:
    return (member, instance, None, 4, f"{member}-client", "/127.0.0.1", ["t", "u"], None,
            assigned, _partitions(), 1, T)  # fmt: skip


def test_consumer_group_describe_member_details_only_when_asked() -> None:
    members = [
        _consumer_member("a", "static-a", _partitions(("t", [0, 1]), ("u", [3]))),
        _consumer_member("b", None, _partitions()),
    ]
    group = (0, None, "g", "Stable", 5, 5, "uniform", members, -2147483648, T)
    response = _wire(describe.ConsumerGroupDescribeResponse_v1, 0, [group], T)
    assert describe.decode_group_describe(response, ["g"]) == {"g": GroupDescription("Stable", 2)}
    assert describe.decode_group_describe(response, ["g"], members=True) == {
        "g": GroupDescription(
            "Stable",
            2,
            (
                MemberDetail("a", "a-client", "/127.0.0.1", "static-a", 3),
                MemberDetail("b", "b-client", "/127.0.0.1", None, 0),
            ),
        )
    }


def test_streams_members_have_no_partition_count() -> None:
    tasks = ([("0", [0, 1], T)], [], [], T)
    member = ("s1", 3, "inst", None, "app-client", "/127.0.0.2", 2, "process", None, [], [], [],
              tasks, tasks, False, T)  # fmt: skip
    group = (0, None, "app", "Stable", 5, 5, None, [member], -2147483648, None, 0, None, T)
    response = _wire(describe.StreamsGroupDescribeResponse_v1, 0, [group], T)
    found = describe.decode_group_describe(response, ["app"], members=True)["app"]
    assert isinstance(found, GroupDescription)
    assert found.details == (MemberDetail("s1", "app-client", "/127.0.0.2", "inst", None),)


def _series(state: ClusterState) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in member_metrics.to_metrics(state, "c", {"env": "t"}):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_member_families_one_info_series_per_member_and_known_assignments() -> None:
    details = (
        MemberDetail("m-2", "client-b", "/10.0.0.2", None, None),
        MemberDetail("m-1", "client-a", "/10.0.0.1", "inst-1", 4),
    )
    state = ClusterState(
        brokers=(),
        topics={},
        groups={"g": GroupInfo(members=2, member_details=details), "quiet": GroupInfo(members=0)},
    )
    base = {"cluster": "c", "env": "t", "consumergroup": "g"}

    def key(**labels: str) -> tuple[tuple[str, str], ...]:
        return tuple(sorted({**base, **labels}.items()))

    one = {"member_id": "m-1", "client_id": "client-a", "host": "/10.0.0.1"}
    two = {"member_id": "m-2", "client_id": "client-b", "host": "/10.0.0.2"}
    assert _series(state) == {
        "kafka_consumergroup_member_info": {
            key(**one, group_instance_id="inst-1"): 1,
            key(**two, group_instance_id=""): 1,
        },
        "kafka_consumergroup_member_assigned_partitions": {key(**one): 4},
    }
    assert _series(ClusterState((), {}, {"g": GroupInfo(members=2)})) == {}


RECORDED = manifest()


@pytest.mark.parametrize(
    "name",
    [n for n, e in RECORDED["files"].items() if e["api_key"] in (69, 89) and "_live" in n],
)
def test_recorded_kafka_answers_give_the_java_admins_members(name: str) -> None:
    """Answers recorded from Kafka 4.4 (tests/support/record_group_responses): the member
    details' client ids and partition counts are the Java Admin's assignments."""
    entry = RECORDED["files"][name]
    response = response_types()[(entry["api_key"], entry["version"])].decode(
        BytesIO(recorded(name))
    )
    found = describe.decode_group_describe(response, entry["asked"], members=True)
    mine = "kip848" if entry["api_key"] == 69 else "streamer"
    java = RECORDED["java_admin"]["describe"][mine]
    answer = found[mine]
    assert isinstance(answer, GroupDescription)
    assert {m.client_id for m in answer.details} == set(java["assignments"])
    assert all(m.host.startswith("/") and m.member_id for m in answer.details)
    if mine == "kip848":
        assert {m.client_id: m.assigned_partitions for m in answer.details} == {
            client: len(parts) for client, parts in java["assignments"].items()
        }
    else:
        assert [m.assigned_partitions for m in answer.details] == [None]

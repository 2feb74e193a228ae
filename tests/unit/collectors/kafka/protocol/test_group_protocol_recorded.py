"""The group API decoders on answers recorded from real brokers (Kafka 4.4.0, 3.9.2, Tansu):
`python -m tests.support.record_group_responses` made the files; its setup is what is expected
here. Every file decodes to its last byte and encodes back to the same bytes."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from aiokafka.errors import KafkaError
from aiokafka.protocol.api import Response

from exporter.collectors.kafka.protocol.group_describe import (
    GroupDescription,
    decode_group_describe,
)
from exporter.collectors.kafka.protocol.list_groups import ListedGroup, decode_list_groups
from exporter.collectors.kafka.protocol.offset_fetch import decode_offset_fetch_groups
from exporter.collectors.kafka.protocol.share_offsets import (
    SharePartitionOffset,
    decode_share_group_offsets,
)
from tests.support.record_group_responses import (
    KIP848_COMMIT,
    STREAMER_COMMITS,
    manifest,
    recorded,
    response_types,
)

MANIFEST = manifest()
FILES = MANIFEST["files"]
TYPES = response_types()
KAFKA_4, KAFKA_3, TANSU = "kafka-4.4.0", "kafka-3.9.2", "tansu"
BILLING = {("orders", 0): 3, ("orders", 1): 5, ("payments", 0): 7}
IDLE = {("orders", 2): 1}


def decode(name: str) -> Response:
    """The response recorded in `name`, decoded by our codec; nothing may be left over."""
    entry = FILES[name]
    data = BytesIO(recorded(name))
    response = TYPES[(entry["api_key"], entry["version"])].decode(data)
    assert data.read() == b"", f"{name}: bytes left over, the layout is shorter than the broker's"
    return response


def files(api_key: int, *, broker: str | None = None, case: str | None = None) -> list[str]:
    return [
        name
        for name, entry in FILES.items()
        if entry["api_key"] == api_key
        and broker in (None, entry["broker"])
        and (case is None or name.endswith(f"_{case}.hex"))
    ]


def plain(answer: Any) -> Any:
    """A KafkaError as (class name, the message it was made with), anything else as it is."""
    if isinstance(answer, KafkaError):
        return (type(answer).__name__, answer.args[0])
    return answer


def test_the_recordings_cover_every_broker_and_version() -> None:
    made = {(e["broker"], e["api_key"], e["version"]) for e in FILES.values()}
    assert made == {
        *((b, 16, v) for b in (KAFKA_4, KAFKA_3, TANSU) for v in range(6)),
        *((b, 9, v) for b in (KAFKA_4, KAFKA_3, TANSU) for v in (8, 9)),
        (KAFKA_4, 69, 0), (KAFKA_4, 69, 1), (KAFKA_3, 69, 0), (TANSU, 69, 0),
        (KAFKA_4, 77, 1), (KAFKA_4, 89, 0), (KAFKA_4, 89, 1), (KAFKA_4, 90, 0), (KAFKA_4, 90, 1),
    }  # fmt: skip
    assert MANIFEST["versions"] == {
        KAFKA_4: {
            "9": [1, 10],
            "16": [0, 5],
            "69": [0, 1],
            "77": [1, 1],
            "89": [0, 1],
            "90": [0, 1],
        },
        KAFKA_3: {"9": [0, 9], "16": [0, 5], "69": [0, 0]},
        TANSU: {"9": [0, 9], "16": [0, 5], "69": [0, 0]},
    }


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_recording_decodes_to_its_last_byte_and_encodes_back(name: str) -> None:
    assert decode(name).encode() == recorded(name)


@pytest.mark.parametrize("name", files(16, case="groups"))
def test_list_groups_gives_each_group_with_state_from_v4_and_type_from_v5(name: str) -> None:
    version = FILES[name]["version"]
    if FILES[name]["broker"] == TANSU:  # lists only groups with commits, in state "Unknown"
        table = {"billing": ("consumer", "Unknown"), "idle": ("consumer", "Unknown")}
    else:
        table = {
            "billing": ("", "Empty"),
            "idle": ("", "Empty"),
            "live-classic": ("consumer", "Stable"),
        }
    expected = [
        ListedGroup(
            group,
            protocol,
            state if version >= 4 else None,
            "classic" if version >= 5 else None,
        )
        for group, (protocol, state) in sorted(table.items())
    ]
    assert sorted(decode_list_groups(decode(name)), key=lambda g: g.group_id) == expected


@pytest.mark.parametrize("name", files(9, case="groups"))
def test_offset_fetch_gives_every_groups_commits_and_nothing_for_others(name: str) -> None:
    found = decode_offset_fetch_groups(decode(name), FILES[name]["asked"])
    assert found == {"billing": BILLING, "idle": IDLE, "live-classic": {}, "ghost": {}}


@pytest.mark.parametrize("name", files(9, case="invalid"))
def test_offset_fetch_answers_an_empty_group_id_with_no_commits(name: str) -> None:
    assert decode_offset_fetch_groups(decode(name), ["", "billing"]) == {"": {}, "billing": BILLING}


@pytest.mark.parametrize(
    ("key", "kind", "api"),
    [(69, "consumer", "ConsumerGroupDescribe"), (77, "share", "ShareGroupDescribe"),
     (89, "streams", "StreamsGroupDescribe")],
)  # fmt: skip
def test_kafka_4_describes_groups_of_another_type_or_none_as_that_groups_error(
    key: int, kind: str, api: str
) -> None:
    for name in files(key, broker=KAFKA_4, case="groups"):
        found = decode_group_describe(decode(name), FILES[name]["asked"])
        assert {group: plain(answer) for group, answer in found.items()} == {
            "billing": ("GroupIdNotFound", f"Group billing is not a {kind} group."),
            "idle": ("GroupIdNotFound", f"Group idle is not a {kind} group."),
            "live-classic": ("GroupIdNotFound", f"Group live-classic is not a {kind} group."),
            "ghost": ("GroupIdNotFound", "Group ghost not found."),
        }, name
    for name in files(key, broker=KAFKA_4, case="invalid"):
        found = decode_group_describe(decode(name), ["", "billing"])
        assert {group: plain(answer) for group, answer in found.items()} == {
            "": ("InvalidGroupIdError", f"{api} failed for group "),  # no message from the broker
            "billing": ("GroupIdNotFound", f"Group billing is not a {kind} group."),
        }, name


def test_kafka_3_answers_consumer_group_describe_per_group_unsupported() -> None:
    (name,) = files(69, broker=KAFKA_3, case="groups")
    found = decode_group_describe(decode(name), FILES[name]["asked"])
    assert {group: type(answer).__name__ for group, answer in found.items()} == {
        group: "UnsupportedVersionError" for group in ("billing", "idle", "live-classic", "ghost")
    }


def test_tansu_describes_any_group_as_a_consumer_group_without_members() -> None:
    (name,) = files(69, broker=TANSU, case="groups")
    found = decode_group_describe(decode(name), FILES[name]["asked"])
    assert found == {
        "billing": GroupDescription("Empty", 0),
        "idle": GroupDescription("Empty", 0),
        "live-classic": GroupDescription("Stable", 0),
        "ghost": GroupDescription("Empty", 0),
    }


@pytest.mark.parametrize(
    "name", files(90, broker=KAFKA_4, case="groups") + files(90, broker=KAFKA_4, case="invalid")
)
def test_share_group_offsets_of_groups_that_are_no_share_groups_are_empty(name: str) -> None:
    asked = FILES[name]["asked"]
    found = decode_share_group_offsets(decode(name), asked)
    assert found == {group: {} for group in asked}


# Live groups of every type on Kafka 4.4 (Java consumers with group.protocol=consumer, Java share
# consumers, a Kafka Streams app with group.protocol=streams), cross-checked with what the Java
# Admin client read of them at recording time.

JAVA = MANIFEST["java_admin"]
KINDS = {"kip848": "consumer", "shared": "share", "streamer": "streams"}


@pytest.mark.parametrize("name", files(16, case="live"))
def test_list_groups_lists_every_type_at_every_version(name: str) -> None:
    version = FILES[name]["version"]
    listed = {g.group_id: g for g in decode_list_groups(decode(name))}
    assert len(listed) == len(decode_list_groups(decode(name))) == 6
    assert listed == {
        group: ListedGroup(
            group,
            row["protocol"],
            row["state"] if version >= 4 else None,
            row["type"] if version >= 5 else None,
        )
        for group, row in JAVA["list"].items()
    }
    assert {g.group_type for g in listed.values()} == (
        {"classic", "consumer", "share", "streams"} if version >= 5 else {None}
    )


@pytest.mark.parametrize(
    "name", files(69, case="live") + files(77, case="live") + files(89, case="live")
)
def test_describe_apis_describe_live_groups_of_their_type_as_the_java_admin_does(name: str) -> None:
    kind = {69: "consumer", 77: "share", 89: "streams"}[FILES[name]["api_key"]]
    found = decode_group_describe(decode(name), FILES[name]["asked"])
    expected: dict[str, Any] = {
        group: ("GroupIdNotFound", f"Group {group} is not a {kind} group.")
        for group in FILES[name]["asked"]
    }
    (mine,) = (group for group, k in KINDS.items() if k == kind)
    java = JAVA["describe"][mine]
    expected[mine] = GroupDescription(java["state"], java["members"])
    assert {group: plain(answer) for group, answer in found.items()} == expected
    assert java["members"] == {"kip848": 2, "shared": 2, "streamer": 1}[mine]


@pytest.mark.parametrize("name", files(90, case="live"))
def test_share_group_offsets_match_the_java_admins_start_offsets_and_lag(name: str) -> None:
    version = FILES[name]["version"]
    found = decode_share_group_offsets(decode(name), FILES[name]["asked"])
    shared = {
        ("shared-events", int(key.rsplit("-", 1)[1])): SharePartitionOffset(
            row["start_offset"], row["lag"] if version >= 1 else None
        )
        for key, row in JAVA["share_offsets"].items()
    }
    assert len(shared) == 2 and all(p.start_offset >= 0 for p in shared.values())
    assert found == {"kip848": {}, "shared": shared, "streamer": {}, "billing": {}}


@pytest.mark.parametrize("name", files(9, case="live"))
def test_offset_fetch_gives_kip848_and_streams_groups_commits(name: str) -> None:
    found = decode_offset_fetch_groups(decode(name), FILES[name]["asked"])
    kip848 = {("events", 0): KIP848_COMMIT, ("events", 1): KIP848_COMMIT}
    assert found == {
        "kip848": kip848,
        "shared": {},
        "streamer": STREAMER_COMMITS,
        "billing": BILLING,
    }

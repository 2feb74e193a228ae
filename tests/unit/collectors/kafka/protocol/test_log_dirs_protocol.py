"""DescribeLogDirs (key 35) v1-v4: the request asks for every topic (null) in the highest
version both sides speak; answers written byte by byte from Kafka's DescribeLogDirsResponse.json
(not with our schemas) decode through the bounded decoder into log dirs with their sizes, an
offline dir's error, the v4 volume bytes, and refuse what cannot be."""

from __future__ import annotations

import struct
from io import BytesIO

import pytest
from aiokafka.errors import ClusterAuthorizationFailedError, IncompatibleBrokerVersion

from exporter.collectors.kafka.protocol.bounded_decode import decode_bounded
from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.log_dirs import DescribeLogDirsRequest, decode_log_dirs
from exporter.collectors.kafka.state import LogDir

Partition = tuple[int, int, int, bool]
"""(index, size, offset lag, is future)."""
Dir = tuple[int, str, list[tuple[str, list[Partition]]], int, int]
"""(error code, path, topics, total bytes, usable bytes)."""


def _uvarint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def _encode(version: int, dirs: list[Dir], top_error: int = 0) -> bytes:
    """A DescribeLogDirs response body of `version` (after the response header)."""
    flexible = version >= 2

    def string(s: str) -> bytes:
        raw = s.encode()
        return (_uvarint(len(raw) + 1) if flexible else struct.pack(">h", len(raw))) + raw

    def array(items: list[bytes]) -> bytes:
        size = _uvarint(len(items) + 1) if flexible else struct.pack(">i", len(items))
        return size + b"".join(items)

    tags = b"\x00" if flexible else b""
    results = []
    for code, path, topics, total, usable in dirs:
        encoded_topics = [
            string(name) + array([struct.pack(">iqq?", *part) + tags for part in parts]) + tags
            for name, parts in topics
        ]
        volume = struct.pack(">qq", total, usable) if version >= 4 else b""
        results.append(
            struct.pack(">h", code) + string(path) + array(encoded_topics) + volume + tags
        )
    top = struct.pack(">h", top_error) if version >= 3 else b""
    return struct.pack(">i", 0) + top + array(results) + tags


DIRS: list[Dir] = [
    (
        0,
        "/data/a",
        [
            ("orders", [(0, 1234, 0, False), (1, 0, 0, False)]),
            ("__consumer_offsets", [(3, 99, 0, False)]),
        ],
        10_000,
        4_000,
    ),
    (0, "/data/b", [("orders", [(2, 77, 5, True)])], -1, -1),
    (56, "/data/broken", [], -1, -1),
]


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_each_version_decodes_sizes_errors_and_volumes(version: int) -> None:
    struct_type = DescribeLogDirsRequest().prepare({35: (0, version)})
    assert version == struct_type.API_VERSION
    raw = _encode(version, DIRS)
    decoded = decode_log_dirs(decode_bounded(struct_type.RESPONSE_TYPE, BytesIO(raw)))
    v4 = version >= 4
    assert decoded == (
        LogDir(
            "/data/a",
            None,
            {("orders", 0): 1234, ("orders", 1): 0, ("__consumer_offsets", 3): 99},
            1333,
            10_000 if v4 else None,
            4_000 if v4 else None,
        ),
        LogDir("/data/b", None, {("orders", 2): 77}, 77),
        LogDir("/data/broken", "KAFKA_STORAGE_ERROR", {}, 0),
    )


@pytest.mark.parametrize(
    ("offered", "version", "body"),
    [
        ((0, 4), 4, b"\x00\x00"),  # null compact array (0), no tagged fields
        ((1, 9), 4, b"\x00\x00"),  # a later broker: our highest
        ((0, 3), 3, b"\x00\x00"),
        ((1, 2), 2, b"\x00\x00"),
        ((0, 1), 1, b"\xff\xff\xff\xff"),  # null array (-1), not flexible
    ],
)
def test_the_request_asks_for_every_topic_in_the_highest_common_version(
    offered: tuple[int, int], version: int, body: bytes
) -> None:
    prepared = DescribeLogDirsRequest().prepare({35: offered})
    assert (prepared.API_VERSION, prepared.encode()) == (version, body)
    assert prepared.FLEXIBLE_VERSION is (version >= 2)


@pytest.mark.parametrize("versions", [{35: (0, 0)}, {35: (5, 7)}, {3: (0, 12)}])
def test_no_common_version_is_a_kafka_error(versions: dict[int, tuple[int, int]]) -> None:
    with pytest.raises(IncompatibleBrokerVersion):
        DescribeLogDirsRequest().prepare(versions)


def test_a_top_level_error_is_raised() -> None:
    prepared = DescribeLogDirsRequest().prepare({35: (1, 4)})
    raw = _encode(4, [], top_error=31)
    with pytest.raises(ClusterAuthorizationFailedError):
        decode_log_dirs(decode_bounded(prepared.RESPONSE_TYPE, BytesIO(raw)))


@pytest.mark.parametrize(
    ("dirs", "match"),
    [
        ([(0, "/d", [("t", [(0, 1, 0, False), (0, 2, 0, False)])], -1, -1)], "t-0 answered twice"),
        ([(0, "/d", [], -1, -1), (0, "/d", [], -1, -1)], "'/d' answered twice"),
    ],
)
def test_an_answer_naming_a_dir_or_partition_twice_is_malformed(
    dirs: list[Dir], match: str
) -> None:
    prepared = DescribeLogDirsRequest().prepare({35: (1, 4)})
    reply = decode_bounded(prepared.RESPONSE_TYPE, BytesIO(_encode(4, dirs)))
    with pytest.raises(MalformedResponse, match=match):
        decode_log_dirs(reply)


def test_a_truncated_answer_names_the_field() -> None:
    prepared = DescribeLogDirsRequest().prepare({35: (1, 4)})
    raw = _encode(4, DIRS)[:40]
    with pytest.raises(MalformedResponse, match=r"DescribeLogDirsResponse_v4\.results"):
        decode_bounded(prepared.RESPONSE_TYPE, BytesIO(raw))


@pytest.mark.parametrize(
    ("code", "name"),
    [(56, "KAFKA_STORAGE_ERROR"), (-1, "UNKNOWN_SERVER_ERROR"), (9999, "UNKNOWN_ERROR_9999")],
)
def test_a_dir_error_is_named_as_kafka_names_it(code: int, name: str) -> None:
    prepared = DescribeLogDirsRequest().prepare({35: (1, 4)})
    raw = _encode(4, [(code, "/gone", [], -1, -1)])
    decoded = decode_log_dirs(decode_bounded(prepared.RESPONSE_TYPE, BytesIO(raw)))
    assert decoded == (LogDir("/gone", name, {}, 0),)

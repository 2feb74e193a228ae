"""A one-broker Kafka test server on 127.0.0.1 that speaks just enough of the protocol for the
exporter (ApiVersions v0, Metadata v1, ListOffsets v1, ListGroups v5, ConsumerGroupDescribe v1,
OffsetFetch v8) and answers one API with a hostile reply, chosen by `case`:

- `huge_describe`: a well-formed ConsumerGroupDescribe of about 64 MB (g1 with ~3.9 million
  empty members);
- `endless_frame`: ConsumerGroupDescribe answered by a frame announcing 2^31-1 bytes, then
  zeros streamed until the connection closes;
- `endless_setup`: the same frame answers ApiVersions, the first request of every connection's
  set-up (nothing else is ever asked);
- `bad_utf8`: ConsumerGroupDescribe with invalid UTF-8 in one member of g2;
- `truncated`: OffsetFetch cut in the middle;
- `array_2_31`: OffsetFetch whose groups array announces 2^31 elements with nothing behind it;
- `unknown_partitions`: nothing malformed, but offsets of partitions the metadata does not have:
  OffsetFetch answers t-99 and topic `gone` besides t-0 and t-1, and share group s1 (ListGroups,
  ShareGroupDescribe v1, DescribeShareGroupOffsets v1 offered in this case only) has t-77 and
  `gone` besides t-0 and t-1 (SHARE_OFFSETS).

Replies are encoded with the protocol classes (aiokafka's, and the exporter's own for the APIs
aiokafka lacks). The cluster: topic `t` with two partitions (end offsets 10, start 0), consumer
groups g1 and g2 of the new protocol with commits t-0: 5 and t-1: 7. The server runs its own
event loop in a thread, stops by itself after `lifetime` seconds, and `stop()` ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import uuid
from collections.abc import Callable
from io import BytesIO
from typing import Any

from aiokafka.protocol.admin import ApiVersionResponse_v0
from aiokafka.protocol.metadata import MetadataResponse_v1
from aiokafka.protocol.offset import OffsetRequest_v1, OffsetResponse_v1
from aiokafka.protocol.types import Int32, Schema, UnsignedVarInt32

from exporter.collectors.kafka.protocol.group_describe import (
    ConsumerGroupDescribeRequest_v1,
    ConsumerGroupDescribeResponse_v1,
    ShareGroupDescribeRequest_v1,
    ShareGroupDescribeResponse_v1,
)
from exporter.collectors.kafka.protocol.list_groups import ListGroupsResponse_v5
from exporter.collectors.kafka.protocol.offset_fetch import (
    OffsetFetchRequest_v8,
    OffsetFetchResponse_v8,
)
from exporter.collectors.kafka.protocol.share_offsets import (
    DescribeShareGroupOffsetsRequest_v1,
    DescribeShareGroupOffsetsResponse_v1,
)

CASES = (
    "huge_describe",
    "endless_frame",
    "endless_setup",
    "bad_utf8",
    "truncated",
    "array_2_31",
    "unknown_partitions",
)
HOSTILE_API = {
    "huge_describe": "ConsumerGroupDescribe",
    "endless_frame": "ConsumerGroupDescribe",
    "bad_utf8": "ConsumerGroupDescribe",
    "truncated": "OffsetFetch",
    "array_2_31": "OffsetFetch",
}
"""Case -> the API (Kafka's name) it answers with a hostile reply."""
TOPIC = "t"
GROUPS = ("g1", "g2")
COMMITTED = {0: 5, 1: 7}
END_OFFSET = 10
HUGE_MEMBERS = 3_900_000
"""Empty members in the `huge_describe` reply: 17 bytes each, about 66 MB (under 64 MiB)."""
SHARE_GROUP = "s1"
UNKNOWN_COMMITS = {(TOPIC, 99): 3, ("gone", 0): 1}
"""What `unknown_partitions` commits beside COMMITTED: a partition and a topic not in the metadata."""
SHARE_OFFSETS = {
    (TOPIC, 0): (4, 6),
    (TOPIC, 1): (2, 8),
    (TOPIC, 77): (0, 1000),
    ("gone", 0): (0, 5),
}
"""(topic, partition) -> (start offset, lag) of SHARE_GROUP in `unknown_partitions`."""
_VERSIONS = [(18, 0, 0), (3, 1, 1), (2, 1, 1), (16, 5, 5), (69, 1, 1), (9, 8, 8)]
_SHARE_VERSIONS = [(77, 1, 1), (90, 1, 1)]
_FLEXIBLE = {16, 69, 9, 77, 90}
"""API keys whose offered version uses the flexible (v2) request header."""
_BAD_TEXT = "\u2603" * 2
_BAD_BYTES = b"\xff\xfe\xff\xfe\xff\xfe"
"""What `bad_utf8` puts in place of _BAD_TEXT's UTF-8 (the same length): invalid UTF-8."""


class HostileKafka:
    """The server; a context manager (start on enter, stop on exit)."""

    def __init__(self, case: str, lifetime: float = 120.0) -> None:
        assert case in CASES, case
        self.case = case
        self.lifetime = lifetime
        self.port = 0
        self.requests: dict[int, int] = {}
        """Requests received, by API key."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"hostile-kafka-{case}")
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._huge: bytes | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> HostileKafka:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("hostile Kafka server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close every connection (bounded: 10 s)."""
        if self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)
        if self._thread.is_alive():
            raise RuntimeError("hostile Kafka server did not stop")

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._connection(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                handlers.discard(task)
                writer.close()

        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.lifetime)
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            (size,) = struct.unpack(">i", await reader.readexactly(4))
            frame = BytesIO(await reader.readexactly(size))
            api_key, version, correlation = struct.unpack(">hhi", frame.read(8))
            (client_len,) = struct.unpack(">h", frame.read(2))
            frame.read(max(client_len, 0))
            if api_key in _FLEXIBLE:
                frame.read(1)  # the request header's tagged fields (none)
            self.requests[api_key] = self.requests.get(api_key, 0) + 1
            if (api_key, self.case) in ((69, "endless_frame"), (18, "endless_setup")):
                await _endless(writer)
                return
            body = self._answer(api_key, version, frame)
            head = struct.pack(">i", correlation) + (b"\x00" if api_key in _FLEXIBLE else b"")
            writer.write(struct.pack(">i", len(head) + len(body)) + head + body)
            await writer.drain()

    def _answer(self, api_key: int, version: int, body: BytesIO) -> bytes:
        answers: dict[int, Callable[[BytesIO], bytes]] = {
            18: lambda _: ApiVersionResponse_v0(0, _VERSIONS + self._share_versions).encode(),
            3: self._metadata,
            2: _list_offsets,
            16: self._list_groups,
            69: self._describe,
            9: self._offset_fetch,
        }
        if self._share_versions:
            answers[77] = _share_describe
            answers[90] = _share_offsets
        if api_key not in answers:
            raise ConnectionError(f"API {api_key} v{version} is not spoken here")
        return answers[api_key](body)

    @property
    def _share_versions(self) -> list[tuple[int, int, int]]:
        return _SHARE_VERSIONS if self.case == "unknown_partitions" else []

    def _list_groups(self, _: BytesIO) -> bytes:
        groups = [(g, "consumer", "Stable", "consumer", {}) for g in GROUPS]
        if self._share_versions:
            groups.append((SHARE_GROUP, "share", "Stable", "share", {}))
        return ListGroupsResponse_v5(0, 0, groups, {}).encode()

    def _metadata(self, _: BytesIO) -> bytes:
        partitions = [(0, p, 0, [0], [0]) for p in COMMITTED]
        brokers = [(0, "127.0.0.1", self.port, None)]
        return MetadataResponse_v1(brokers, 0, [(0, TOPIC, False, partitions)]).encode()

    def _describe(self, body: BytesIO) -> bytes:
        asked = ConsumerGroupDescribeRequest_v1.SCHEMA.decode(body)[0]
        if self.case == "huge_describe":
            if self._huge is None:
                self._huge = _huge_describe(asked)
            return self._huge
        groups = [_group(g, [_member(g, _BAD_TEXT if g == "g2" else "client")]) for g in asked]
        encoded = ConsumerGroupDescribeResponse_v1(0, groups, {}).encode()
        if self.case == "bad_utf8":
            encoded = encoded.replace(_BAD_TEXT.encode(), _BAD_BYTES)
        return encoded

    def _offset_fetch(self, body: BytesIO) -> bytes:
        asked = [g[0] for g in OffsetFetchRequest_v8.SCHEMA.decode(body)[0]]
        if self.case == "array_2_31":
            return Int32.encode(0) + UnsignedVarInt32.encode(2**31 + 1)
        commits = {(TOPIC, p): offset for p, offset in COMMITTED.items()}
        if self.case == "unknown_partitions":
            commits.update(UNKNOWN_COMMITS)
        by_topic: dict[str, list[tuple[Any, ...]]] = {}
        for (topic, p), offset in commits.items():
            by_topic.setdefault(topic, []).append((p, offset, -1, None, 0, {}))
        topics = [(topic, partitions, {}) for topic, partitions in by_topic.items()]
        groups = [(g, topics, 0, {}) for g in asked]
        encoded = OffsetFetchResponse_v8(0, groups, {}).encode()
        return encoded[: len(encoded) // 2] if self.case == "truncated" else encoded


def _share_describe(body: BytesIO) -> bytes:
    """ShareGroupDescribe v1: every asked group Stable with one member on TOPIC."""
    asked = ShareGroupDescribeRequest_v1.SCHEMA.decode(body)[0]
    member = ("s-m", None, 1, "client", "/127.0.0.1", [TOPIC], ([], {}), {})
    groups = [(0, None, g, "Stable", 2, 2, "simple", [member], -2147483648, {}) for g in asked]
    return ShareGroupDescribeResponse_v1(0, groups, {}).encode()


def _share_offsets(body: BytesIO) -> bytes:
    """DescribeShareGroupOffsets v1: SHARE_OFFSETS for every asked group."""
    asked = [g[0] for g in DescribeShareGroupOffsetsRequest_v1.SCHEMA.decode(body)[0]]
    by_topic: dict[str, list[tuple[Any, ...]]] = {}
    for (topic, p), (start, lag) in SHARE_OFFSETS.items():
        by_topic.setdefault(topic, []).append((p, start, 0, lag, 0, None, {}))
    topics = [(t, uuid.UUID(int=i + 1), parts, {}) for i, (t, parts) in enumerate(by_topic.items())]
    groups = [(g, topics, 0, None, {}) for g in asked]
    return DescribeShareGroupOffsetsResponse_v1(0, groups, {}).encode()


def _list_offsets(body: BytesIO) -> bytes:
    _replica, topics = OffsetRequest_v1.SCHEMA.decode(body)
    out = []
    for topic, partitions in topics:
        answers = [(p, 0, -1, END_OFFSET if stamp == -1 else 0) for p, stamp in partitions]
        out.append((topic, answers))
    return OffsetResponse_v1(out).encode()


def _member(group: str, client_id: str) -> tuple[Any, ...]:
    """One member of the consumer protocol (ConsumerGroupDescribe v1's layout)."""
    empty = ([], {})
    return (
        f"{group}-m",
        None,
        None,
        1,
        client_id,
        "/127.0.0.1",
        [TOPIC],
        None,
        empty,
        empty,
        1,
        {},
    )


def _group(group: str, members: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    return (0, None, group, "Stable", 3, 3, "uniform", members, -2147483648, {})


def _huge_describe(asked: list[str]) -> bytes:
    """ConsumerGroupDescribe v1: the first group with HUGE_MEMBERS empty members, encoded field
    by field with the response's schema (the members array as one repeated element)."""
    schema = ConsumerGroupDescribeResponse_v1.SCHEMA
    group_schema: Schema = schema.fields[schema.names.index("groups")].array_of
    member_schema = group_schema.fields[group_schema.names.index("members")].array_of
    member = member_schema.encode(("", None, None, 0, "", "", [], None, ([], {}), ([], {}), 1, {}))
    parts = [Int32.encode(0), UnsignedVarInt32.encode(len(asked) + 1)]
    for i, group in enumerate(asked):
        values = _group(group, [])
        for name, field, value in zip(group_schema.names, group_schema.fields, values, strict=True):
            if name == "members" and i == 0:
                parts.append(UnsignedVarInt32.encode(HUGE_MEMBERS + 1) + member * HUGE_MEMBERS)
            else:
                parts.append(field.encode(value))
    parts.append(b"\x00")  # the response's tagged fields
    return b"".join(parts)


async def _endless(writer: asyncio.StreamWriter) -> None:
    """A frame announcing 2^31-1 bytes, then zeros until the peer closes."""
    writer.write(struct.pack(">i", 2**31 - 1))
    chunk = bytes(65536)
    for _ in range(2**31 // len(chunk)):
        writer.write(chunk)
        await writer.drain()

"""Record real brokers' answers to the group API requests of exporter/collectors/kafka/protocol.

    python -m tests.support.record_group_responses [kafka-4.4.0] [kafka-3.9.2] [tansu]

starts each broker (Kafka from Maven Central jars, Tansu from its wheel) on 127.0.0.1, sets up
the same groups on each (see `setup`), sends every request at every version the broker offers,
and writes each response body (the bytes after the response header) as hex to
tests/unit/collectors/kafka/protocol/recorded/<broker>_k<key>_v<version>_<case>.hex, with what
was asked in manifest.json. The unit tests decode these files and assert exact values, so the
setup below is what they expect: change one, change the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from exporter.cli.demo.broker import TansuBroker
from exporter.collectors.kafka.protocol.api_versions import ApiVersions, node_versions
from exporter.collectors.kafka.protocol.group_describe import (
    ConsumerGroupDescribeRequest,
    ShareGroupDescribeRequest,
    StreamsGroupDescribeRequest,
)
from exporter.collectors.kafka.protocol.list_groups import ListGroupsRequest
from exporter.collectors.kafka.protocol.offset_fetch import (
    OffsetFetchGroupsRequest,
    decode_offset_fetch_groups,
)
from exporter.collectors.kafka.protocol.share_offsets import DescribeShareGroupOffsetsRequest
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce
from tests.support.kafka_jars import KAFKA_3, KAFKA_4

OUT = (
    Path(__file__).resolve().parents[1] / "unit" / "collectors" / "kafka" / "protocol" / "recorded"
)

TOPICS = {"orders": 3, "payments": 1}
COMMITS = {
    "billing": {("orders", 0): 3, ("orders", 1): 5, ("payments", 0): 7},
    "idle": {("orders", 2): 1},
}
"""Classic groups that commit without joining (protocol type "", state Empty)."""
LIVE_CLASSIC = "live-classic"
"""A classic group with one aiokafka member subscribed to `orders` (Stable)."""
UNKNOWN = "ghost"
"""A group that does not exist."""
ASKED = ["billing", "idle", LIVE_CLASSIC, UNKNOWN]
"""The groups every per-group request asks for (case `groups`)."""
INVALID = ["", "billing"]
"""An invalid group id (empty) next to a valid one (case `invalid`)."""

Make = Any
"""A request class taking the groups to ask for."""
REQUESTS: dict[str, tuple[int, Make]] = {
    "OffsetFetch": (9, OffsetFetchGroupsRequest),
    "ConsumerGroupDescribe": (69, ConsumerGroupDescribeRequest),
    "ShareGroupDescribe": (77, ShareGroupDescribeRequest),
    "StreamsGroupDescribe": (89, StreamsGroupDescribeRequest),
    "DescribeShareGroupOffsets": (90, DescribeShareGroupOffsetsRequest),
}


class Captured:
    """`request` sent at exactly `version`, keeping the response body's raw bytes. aiokafka's
    connection only calls `prepare()` on what it sends, so this wraps any Request."""

    def __init__(self, request: Any, version: int) -> None:
        self.request = request
        self.version = version
        self.raw: bytes | None = None

    def prepare(self, versions: ApiVersions) -> Any:
        key = self.request.API_KEY
        struct = self.request.prepare({**versions, key: (self.version, self.version)})
        response_type = struct.RESPONSE_TYPE
        captured = self

        class Recording(response_type):  # type: ignore[misc, valid-type]
            @classmethod
            def decode(cls, data: Any) -> Any:
                captured.raw = data.read() if hasattr(data, "read") else bytes(data)
                return response_type.decode(captured.raw)

        sending = type(type(struct).__name__, (type(struct),), {"RESPONSE_TYPE": Recording})
        return sending(*[struct.get_item(name) for name in struct.SCHEMA.names])


def versions_of(request: Any, offered: ApiVersions) -> list[int]:
    """The versions of `request` both the broker and our codec define."""
    low, high = offered.get(request.API_KEY, (0, -1))
    return [c.API_VERSION for c in request._CLASSES if low <= c.API_VERSION <= high]


@contextlib.contextmanager
def started(broker: str) -> Iterator[str]:
    """A fresh broker `kafka-<version>` or `tansu`; yields its bootstrap address."""
    if broker == "tansu":
        tansu = TansuBroker().start()
        try:
            yield tansu.bootstrap
        finally:
            tansu.stop()
    else:
        with KafkaCluster(version=broker.removeprefix("kafka-")) as cluster:
            yield cluster.bootstrap


class _Assigned(ConsumerRebalanceListener):
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned:
            self.event.set()


@contextlib.asynccontextmanager
async def classic_member(bootstrap: str, group: str, topic: str) -> AsyncIterator[None]:
    """One aiokafka member of classic group `group` subscribed to `topic`, from its first
    assignment (within 30 s) until the block ends."""
    member = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    listener = _Assigned()
    member.subscribe([topic], listener=listener)
    await member.start()
    try:
        await asyncio.wait_for(listener.event.wait(), 30)
        yield
    finally:
        await member.stop()


@contextlib.asynccontextmanager
async def setup(bootstrap: str) -> AsyncIterator[None]:
    """Topics, the committing groups and one live classic member (until the block ends)."""
    await create_topics(bootstrap, TOPICS)
    for group, offsets in COMMITS.items():
        await commit(bootstrap, group, offsets)
    async with classic_member(bootstrap, LIVE_CLASSIC, "orders"):
        yield


async def record_cases(
    client: AIOKafkaClient,
    broker: str,
    cases: list[tuple[str, Any, list[str] | None]],
    manifest: dict[str, Any],
) -> None:
    """Send each (case, request, asked) at every version the broker and our codec share; write
    each answer's body and its manifest entry."""
    node = next(iter(client.cluster.brokers())).nodeId
    offered = await node_versions(client, node)
    manifest["versions"][broker] = {
        str(key): list(offered[key]) for key in (9, 16, 69, 77, 89, 90) if key in offered
    }
    for case, request, asked in cases:
        for version in versions_of(request, offered):
            sent = Captured(request, version)
            try:
                await asyncio.wait_for(client.send(node, sent), 15)
            except (KafkaError, asyncio.TimeoutError) as exc:
                print(f"{broker} key {request.API_KEY} v{version} {case}: {exc!r}")
                continue
            assert sent.raw is not None
            name = f"{broker}_k{request.API_KEY}_v{version}_{case}.hex"
            (OUT / name).write_text(sent.raw.hex() + "\n")
            manifest["files"][name] = {
                "broker": broker,
                "api_key": request.API_KEY,
                "version": version,
                "request": type(request).__name__,
                "asked": asked,
            }
            print(f"{name}: {len(sent.raw)} bytes")


def every_request(case: str, asked: list[str]) -> list[tuple[str, Any, list[str] | None]]:
    """ListGroups, then each per-group request asking for `asked`."""
    cases: list[tuple[str, Any, list[str] | None]] = [(case, ListGroupsRequest(), None)]
    return cases + [(case, make(asked), asked) for _, make in REQUESTS.values()]


@contextlib.asynccontextmanager
async def connected(bootstrap: str) -> AsyncIterator[AIOKafkaClient]:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        await asyncio.wait_for(client.bootstrap(), 30)
        yield client
    finally:
        await client.close()


async def record(broker: str, bootstrap: str, manifest: dict[str, Any]) -> None:
    """Every request at every version on one broker, around classic and unknown groups."""
    async with setup(bootstrap), connected(bootstrap) as client:
        cases = every_request("groups", ASKED)
        cases += [c for c in every_request("invalid", INVALID) if c[2] is not None]
        await record_cases(client, broker, cases, manifest)


LIVE_TOPICS = {"events": 2, "events-out": 1, "shared-events": 2}
RECORDS = 5
"""Records produced to each partition of `events` and `shared-events`."""
KIP848, SHARED, STREAMER = "kip848", "shared", "streamer"
KIP848_MEMBERS, SHARE_MEMBERS, SHARE_ACKS, KIP848_COMMIT = 2, 2, 4, 3
STREAMER_COMMITS = {("events", 0): RECORDS, ("events", 1): RECORDS}
"""What the streams app commits once it has processed every record of `events`."""
LIVE_ASKED = [KIP848, SHARED, STREAMER, "billing"]
"""The groups the live requests ask for (case `live`): one of each type."""


@contextlib.contextmanager
def live_groups(bootstrap: str, workdir: Path) -> Iterator[dict[str, Any]]:
    """A KIP-848 consumer group (Java consumers, group.protocol=consumer, committing
    KIP848_COMMIT on each of their partitions of `events`), a share group (KafkaShareConsumers
    that accept SHARE_ACKS records of `shared-events`) and a streams group (a Kafka Streams app,
    group.protocol=streams, `events` -> `events-out`), all Stable; yields what the Java Admin
    client reads of them, to cross-check our decoders with."""
    from tests.support.group_clients import (
        JavaGroupMembers,
        ShareMembers,
        describe_group,
        list_groups,
        share_group_offsets,
    )
    from tests.support.streams_app import StreamsApp

    async def topics() -> None:
        await create_topics(bootstrap, LIVE_TOPICS)
        for topic in ("events", "shared-events"):
            await produce(bootstrap, topic, dict.fromkeys(range(2), RECORDS))

    asyncio.run(topics())
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            JavaGroupMembers(KAFKA_4, bootstrap, "consumer", KIP848, "events", KIP848_MEMBERS,
                             workdir, commit_at=KIP848_COMMIT)
        )  # fmt: skip
        stack.enter_context(
            ShareMembers(KAFKA_4, bootstrap, SHARED, "shared-events", SHARE_MEMBERS, workdir,
                         ack=SHARE_ACKS)
        )  # fmt: skip
        app = StreamsApp(KAFKA_4, bootstrap, STREAMER, ("events", "events-out"), workdir,
                         group_protocol="streams")  # fmt: skip
        stack.enter_context(app)
        app.wait_state("RUNNING", 90)
        kinds = {KIP848: "consumer", SHARED: "share", STREAMER: "streams"}
        deadline = time.monotonic() + 60
        while True:  # the streams group is Stable once its tasks are assigned and committed
            described = {g: describe_group(KAFKA_4, bootstrap, g, k) for g, k in kinds.items()}
            stable = all(d["state"].lower() == "stable" for d in described.values())
            if stable and asyncio.run(_committed(bootstrap, STREAMER)) == STREAMER_COMMITS:
                break
            assert time.monotonic() < deadline, f"groups not Stable and committed: {described}"
            time.sleep(1)
        yield {
            "list": list_groups(KAFKA_4, bootstrap),
            "describe": described,
            "share_offsets": {
                f"{t}-{p}": v
                for (t, p), v in share_group_offsets(KAFKA_4, bootstrap, SHARED).items()
            },
        }


async def _committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    async with connected(bootstrap) as client:
        node = next(iter(client.cluster.brokers())).nodeId
        response = await client.send(node, OffsetFetchGroupsRequest([group]))
        found = decode_offset_fetch_groups(response, [group])[group]
    assert not isinstance(found, KafkaError), found
    return found


def record_live(broker: str, bootstrap: str, manifest: dict[str, Any]) -> None:
    """Every request around live groups of every type; the Java Admin's view in the manifest."""

    async def run() -> None:
        async with connected(bootstrap) as client:
            await record_cases(client, broker, every_request("live", LIVE_ASKED), manifest)

    with (
        tempfile.TemporaryDirectory(prefix="record-groups-") as workdir,
        live_groups(bootstrap, Path(workdir)) as java_admin,
    ):
        manifest["java_admin"] = java_admin
        asyncio.run(run())


def manifest() -> dict[str, Any]:
    """What manifest.json says: `versions` (broker -> API key -> [lowest, highest]) and
    `files` (file name -> broker, api_key, version, request, asked)."""
    result: dict[str, Any] = json.loads((OUT / "manifest.json").read_text())
    return result


def response_types() -> dict[tuple[int, int], Any]:
    """(API key, version) -> the response class our codec decodes it with."""
    requests = [ListGroupsRequest] + [make for _, make in REQUESTS.values()]
    return {(c.API_KEY, c.API_VERSION): c.RESPONSE_TYPE for r in requests for c in r._CLASSES}


def recorded(name: str) -> bytes:
    """The response body recorded in file `name`."""
    return bytes.fromhex((OUT / name).read_text())


def main(argv: list[str]) -> None:
    brokers = argv or [f"kafka-{KAFKA_4}", f"kafka-{KAFKA_3}", "tansu"]
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "manifest.json"
    manifest: dict[str, Any] = (
        json.loads(path.read_text()) if path.exists() else {"versions": {}, "files": {}}
    )
    for broker in brokers:
        for stale in OUT.glob(f"{broker}_*.hex"):
            stale.unlink()
        manifest["files"] = {k: v for k, v in manifest["files"].items() if v["broker"] != broker}
        with started(broker) as bootstrap:
            asyncio.run(record(broker, bootstrap, manifest))
            if broker == f"kafka-{KAFKA_4}":
                record_live(broker, bootstrap, manifest)
    manifest["files"] = dict(sorted(manifest["files"].items()))
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

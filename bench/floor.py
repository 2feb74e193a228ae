"""The protocol floor: only the requests the exporter's default metrics need, batched as the broker
allows, nothing else.

Same aiokafka client, decoders and concurrency (8) as the exporter, on a long-lived connection.
Per run: Metadata; ListGroups per broker (the version both speak: v5 names each group's type);
ListOffsets latest and earliest per leader; each group type's describe API per coordinator,
`--describe-batch` groups a request (DescribeGroups one group a request where the broker garbles
batches, as Tansu does); committed offsets with OffsetFetch v8+ for `--fetch-batch` groups a
request (null topics: every committed partition), or, where a broker lacks v8 or refuses a
null topic list (Tansu), one OffsetFetch per group naming exactly the partitions the workload
says it committed on. What the brokers support is learnt before the timed runs.

    python -m bench.floor --bootstrap HOST:PORT --size 1000x1x50 --runs 10   # prints JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter, defaultdict
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.protocol.api import Request, Response

from bench.workload import Workload
from exporter.collectors.kafka.protocol import classic
from exporter.collectors.kafka.protocol.api_versions import ApiVersions, node_versions, supports
from exporter.collectors.kafka.protocol.group_describe import decode_group_describe
from exporter.collectors.kafka.protocol.list_groups import ListGroupsRequest, decode_list_groups
from exporter.collectors.kafka.protocol.offset_fetch import (
    OffsetFetchGroupsRequest,
    decode_offset_fetch_groups,
)
from exporter.collectors.kafka.read.committed_offsets import (
    GROUPS_VERSION,
    OFFSET_FETCH_API,
    OFFSET_FETCH_BATCH,
)
from exporter.collectors.kafka.read.group_describe import DESCRIBE_BATCH, NEW_DESCRIBE_APIS

CONCURRENCY = 8
WARMUP_RUNS = 3
Offsets = dict[tuple[str, int], int]


def _chunks(groups: list[str], size: int) -> list[list[str]]:
    return [groups[i : i + size] for i in range(0, len(groups), size)]


class Floor:
    """One minimal refresh per `run()`, after `learn()` (untimed) found what the brokers do."""

    def __init__(
        self,
        client: AIOKafkaClient,
        workload: Workload,
        describe_batch: int = DESCRIBE_BATCH,
        fetch_batch: int = OFFSET_FETCH_BATCH,
    ) -> None:
        self.client = client
        self.workload = workload
        self.describe_batch = describe_batch
        self.fetch_batch = fetch_batch
        self.versions: dict[int, ApiVersions] = {}
        self.batch_describe = True
        self.batch_fetch = True
        self.requests: Counter[str] = Counter()
        self.topic_of = {g: workload.topic_of(i) for i, g in enumerate(workload.group_names())}

    async def send(self, node: int, request: Request) -> Response:
        """Send and count one request."""
        self.requests[type(request).__name__.removesuffix("Request")] += 1
        return await self.client.send(node, request)

    async def learn(self) -> None:
        """ApiVersions of every broker; whether batched DescribeGroups and OffsetFetch v8+ with
        null topics work (Tansu drops the connection on the latter: probed alone)."""
        for broker in self.client.cluster.brokers():
            self.versions[broker.nodeId] = await node_versions(self.client, broker.nodeId)
        groups = self.workload.group_names()[:2]
        node = await self.client.coordinator_lookup(0, groups[0])
        self.batch_fetch = supports(self.versions[node], OFFSET_FETCH_API, GROUPS_VERSION)
        if self.batch_fetch:
            try:
                answer = await self.client.send(node, OffsetFetchGroupsRequest(groups[:1]))
                decode_offset_fetch_groups(answer, groups[:1])
            except (KafkaConnectionError, classic.MalformedResponse):
                self.batch_fetch = False
        if len(groups) > 1:
            try:
                answer = await self.client.send(node, classic.describe_groups_request(groups))
                classic.decode_describe_groups(answer, groups)
            except (KafkaConnectionError, classic.MalformedResponse):
                self.batch_describe = False

    async def run(self) -> dict[str, Any]:
        """One refresh's worth of requests; the shape of what came back."""
        meta = await self.send(self.client.get_random_node(), classic.metadata_request())
        brokers, raw_topics = classic.decode_metadata(meta)
        partitions = {
            t["topic"]: {p["partition"]: p["leader"] for p in t["partitions"]}
            for t in raw_topics
            if not t["error_code"]
        }
        nodes = [b.node_id for b in brokers]
        listed = await asyncio.gather(*(self.send(n, ListGroupsRequest()) for n in nodes))
        by_type: dict[tuple[int, str], list[str]] = defaultdict(list)
        for node, answer in zip(nodes, listed, strict=True):
            for group in decode_list_groups(answer):
                by_type[(node, group.group_type or "classic")].append(group.group_id)
        by_leader: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for topic, parts in partitions.items():
            for number, leader in parts.items():
                by_leader[leader][topic].append(number)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def watermarks(leader: int, timestamp: int) -> Offsets:
            request = classic.list_offsets_request(by_leader[leader], timestamp)
            return classic.decode_list_offsets(await self.send(leader, request))

        async def describe(node: int, kind: str, groups: list[str]) -> int:
            async with limit:
                if kind in NEW_DESCRIBE_APIS:
                    answer = await self.send(node, NEW_DESCRIBE_APIS[kind][1](groups))
                    return len(decode_group_describe(answer, groups))
                answer = await self.send(node, classic.describe_groups_request(groups))
                return len(classic.decode_describe_groups(answer, groups))

        async def fetch_many(node: int, groups: list[str]) -> int:
            async with limit:
                answer = await self.send(node, OffsetFetchGroupsRequest(groups))
                found = decode_offset_fetch_groups(answer, groups)
            return sum(len(v) for v in found.values() if not isinstance(v, KafkaError))

        async def fetch_one(node: int, group: str) -> int:
            topic = self.topic_of[group]
            async with limit:
                request = classic.offset_fetch_request(group, {topic: sorted(partitions[topic])})
                return len(classic.decode_offset_fetch(await self.send(node, request)))

        describes, fetches = [], []
        for (node, kind), groups in by_type.items():
            size = self.describe_batch if self.batch_describe or kind != "classic" else 1
            describes += [describe(node, kind, batch) for batch in _chunks(groups, size)]
            if kind == "share":
                continue
            mine = [g for g in groups if g in self.topic_of]
            offered = self.versions.get(node, {})
            if self.batch_fetch and supports(offered, OFFSET_FETCH_API, GROUPS_VERSION):
                fetches += [fetch_many(node, batch) for batch in _chunks(mine, self.fetch_batch)]
            else:
                fetches += [fetch_one(node, group) for group in mine]
        marks = [watermarks(leader, ts) for leader in by_leader for ts in (-1, -2)]
        results = await asyncio.gather(*marks, *describes, *fetches)
        described = results[len(marks) : len(marks) + len(describes)]
        return {
            "groups": sum(len(g) for g in by_type.values()),
            "described": sum(described),
            "lag_series": sum(results[len(marks) + len(describes) :]),
        }


async def measure(
    bootstrap: str,
    workload: Workload,
    runs: int,
    describe_batch: int = DESCRIBE_BATCH,
    fetch_batch: int = OFFSET_FETCH_BATCH,
) -> dict[str, Any]:
    """Wall and CPU seconds of `runs` minimal refreshes after WARMUP_RUNS more (connections,
    first allocations, and the broker's JIT on a fresh node)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=120_000)
    await client.bootstrap()
    try:
        floor = Floor(client, workload, describe_batch, fetch_batch)
        await floor.learn()
        for _ in range(WARMUP_RUNS):
            shape = await floor.run()
        floor.requests.clear()
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            shape = await floor.run()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        requests = {k: v / runs for k, v in sorted(floor.requests.items())}
        return {
            "wall_s": stats(walls),
            "walls": walls,
            "cpus": cpus,
            "cpu_s": statistics.median(cpus),
            "requests": requests,
            "requests_total": sum(requests.values()),
            "batch_describe": floor.batch_describe,
            "batch_offset_fetch": floor.batch_fetch,
            "describe_batch": describe_batch,
            "offset_fetch_batch": fetch_batch,
            **shape,
        }
    finally:
        await client.close()


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "min": ordered[0],
        "max": ordered[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--size", required=True, type=Workload.parse)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--describe-batch", type=int, default=DESCRIBE_BATCH)
    parser.add_argument("--fetch-batch", type=int, default=OFFSET_FETCH_BATCH)
    args = parser.parse_args()
    result = asyncio.run(
        measure(args.bootstrap, args.size, args.runs, args.describe_batch, args.fetch_batch)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The protocol floor: only the requests strictly needed for the exporter's data, nothing else.

Same aiokafka client, same decoders and the same concurrency (8) as the exporter, on a long-lived
connection; it knows which topic each group commits on (the workload says so), so it names
exactly the group's partitions in OffsetFetch. Per run: Metadata, ListGroups per broker,
ListOffsets latest and earliest per leader, then DescribeGroups (batched when the broker answers
batches well-formed; one group per request on Tansu) and one OffsetFetch per group.

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
from aiokafka.protocol.api import Request, Response

from bench.workload import Workload
from exporter.collectors.kafka.read import protocol

CONCURRENCY = 8


class Floor:
    """One minimal refresh per `run()`."""

    def __init__(self, client: AIOKafkaClient, workload: Workload, batch_describe: bool) -> None:
        self.client = client
        self.workload = workload
        self.batch_describe = batch_describe
        self.requests: Counter[str] = Counter()

    async def send(self, node: int, request: Request) -> Response:
        self.requests[type(request).__name__.removesuffix("Request")] += 1
        return await self.client.send(node, request)

    async def run(self) -> dict[str, Any]:
        client = self.client
        meta = await self.send(client.get_random_node(), protocol.metadata_request())
        brokers, raw_topics = protocol.decode_metadata(meta)
        partitions = {
            t["topic"]: {p["partition"]: p["leader"] for p in t["partitions"]}
            for t in raw_topics
            if not t["error_code"]
        }
        listed = await asyncio.gather(
            *(self.send(b.node_id, protocol.list_groups_request()) for b in brokers)
        )
        coordinators = {
            g: b.node_id
            for b, answer in zip(brokers, listed, strict=True)
            for g in protocol.decode_list_groups(answer)
        }
        by_leader: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for topic, parts in partitions.items():
            for number, leader in parts.items():
                by_leader[leader][topic].append(number)
        limit = asyncio.Semaphore(CONCURRENCY)
        topic_of = {g: self.workload.topic_of(i) for i, g in enumerate(self.workload.group_names())}

        async def watermarks(leader: int, timestamp: int) -> dict[tuple[str, int], int]:
            request = protocol.list_offsets_request(by_leader[leader], timestamp)
            return protocol.decode_list_offsets(await self.send(leader, request))

        async def describe(node: int, groups: list[str]) -> dict[str, tuple[str, int]]:
            async with limit:
                answer = await self.send(node, protocol.describe_groups_request(groups))
                return protocol.decode_describe_groups(answer, groups)

        async def offsets(group: str, node: int) -> dict[tuple[str, int], int]:
            topic = topic_of[group]
            async with limit:
                request = protocol.offset_fetch_request(group, {topic: sorted(partitions[topic])})
                return protocol.decode_offset_fetch(await self.send(node, request))

        batches: list[tuple[int, list[str]]] = []
        by_node: dict[int, list[str]] = defaultdict(list)
        for group, node in coordinators.items():
            by_node[node].append(group)
        size = 100 if self.batch_describe else 1
        for node, groups in by_node.items():
            batches += [(node, groups[i : i + size]) for i in range(0, len(groups), size)]
        results = await asyncio.gather(
            *(
                watermarks(leader, ts)
                for leader in by_leader
                for ts in (protocol.LATEST, protocol.EARLIEST)
            ),
            *(describe(node, batch) for node, batch in batches),
            *(offsets(group, node) for group, node in coordinators.items() if group in topic_of),
        )
        series = sum(len(r) for r in results[2 * len(by_leader) + len(batches) :])
        return {"groups": len(coordinators), "lag_series": series}


async def _batch_describe_works(client: AIOKafkaClient, workload: Workload) -> bool:
    groups = workload.group_names()[:2]
    if len(groups) < 2:
        return True
    try:
        answer = await client.send(
            client.get_random_node(), protocol.describe_groups_request(groups)
        )
        protocol.decode_describe_groups(answer, groups)
        return True
    except protocol.MalformedResponse:
        return False


async def measure(bootstrap: str, workload: Workload, runs: int) -> dict[str, Any]:
    """Wall and CPU seconds of `runs` minimal refreshes after one warm-up."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=120_000)
    await client.bootstrap()
    try:
        floor = Floor(client, workload, await _batch_describe_works(client, workload))
        shape = await floor.run()  # warm-up: connections, first allocations
        floor.requests.clear()
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            shape = await floor.run()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return {
            "wall_s": _stats(walls),
            "cpu_s": statistics.median(cpus),
            "requests": {k: v / runs for k, v in sorted(floor.requests.items())},
            "batch_describe": floor.batch_describe,
            **shape,
        }
    finally:
        await client.close()


def _stats(values: list[float]) -> dict[str, float]:
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
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.bootstrap, args.size, args.runs))))


if __name__ == "__main__":
    main()

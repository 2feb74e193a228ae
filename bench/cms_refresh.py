"""API calls and wall time of one `aliyun_cms` refresh: 2 instances x 300 consumer groups.

Serves the dataset from the local CloudMonitor server in tests/support (signature verified, real
SDK, HTTP on 127.0.0.1), three points per group inside the 180 s lookback (CloudMonitor's 60 s
resolution), and runs one refresh per page size. The monthly figure is calls x 43 200 (one
refresh a minute for 30 days) against the account's shared free quota of 1 000 000 calls.

    python -m bench.cms_refresh [--instances 2] [--groups 300] [--page-sizes 100,1000,1440]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from exporter.collectors.aliyun_cms import AliyunCmsCollector
from exporter.collectors.aliyun_cms.config import AliyunCmsConfig
from tests.support.cms_api import make_points
from tests.support.cms_server import CmsServer

REFRESHES_PER_MONTH = 60 * 24 * 30
FREE_QUOTA = 1_000_000


def _collector(server: CmsServer, instances: list[str], page_size: int) -> AliyunCmsCollector:
    config = AliyunCmsConfig.model_validate(
        {
            "name": "bench",
            "type": "aliyun_cms",
            "region_id": "cn-hangzhou",
            "access_key_id": server.access_key_id,
            "access_key_secret": server.access_key_secret,
            "endpoint": server.endpoint,
            "instance_ids": instances,
            "page_size": page_size,
            "interval": 60,
            "timeout": 30,
        }
    )
    return AliyunCmsCollector(config)


async def _refresh(collector: AliyunCmsCollector) -> tuple[int, int, float]:
    started = time.perf_counter()
    state = await collector.fetch()
    families = collector.to_metrics(state)
    elapsed = time.perf_counter() - started
    series = sum(len(f.samples) for f in families if f.name.startswith("kafka_consumer"))
    return state.calls, series, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--page-sizes", default="100,1000,1440")
    parser.add_argument("--repeat", type=int, default=5, help="refreshes per page size (median)")
    args = parser.parse_args()

    instances = [f"alikafka_pre-cn-bench{n:02d}" for n in range(args.instances)]
    groups = [f"consumer-group-{n:04d}" for n in range(args.groups)]
    with CmsServer() as server:
        server.points = make_points(instances, groups, int(time.time() * 1000) - 30_000)
        print(
            f"{args.instances} instances x {args.groups} groups, {len(server.points)} points in"
            f" the lookback window"
        )
        print(
            f"{'Length':>6} {'calls':>6} {'series':>7} {'wall s (median)':>16} {'calls/month':>12}"
        )
        for page_size in (int(p) for p in args.page_sizes.split(",")):
            runs = []
            for _ in range(args.repeat):
                collector = _collector(server, instances, page_size)
                runs.append(asyncio.run(_refresh(collector)))
            calls, series, _ = runs[0]
            wall = statistics.median(r[2] for r in runs)
            month = calls * REFRESHES_PER_MONTH
            print(
                f"{page_size:>6} {calls:>6} {series:>7} {wall:>16.3f} {month:>12,}"
                f" ({100 * month / FREE_QUOTA:.0f}% of the free quota)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

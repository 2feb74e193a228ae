"""Reference: collect on scrape, the way kafka_exporter and kminion work.

A prometheus_client custom collector whose `collect()` reads the cluster (the exporter's own
reader, so the Kafka requests are the same) and converts it inside each scrape, served by
prometheus_client's threaded HTTP server, which renders with `generate_latest` (and gzips when
asked) per scrape. Concurrent scrapes each do their own read.

    python -m bench.collect_on_scrape --bootstrap HOST:PORT --port PORT
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.metrics.cluster_metrics import to_metrics
from exporter.collectors.kafka.read.reader import ClusterReader


class CollectOnScrape:
    """`collect()` = one full read of the cluster + conversion, on every scrape."""

    def __init__(self, bootstrap: str) -> None:
        self.config = KafkaConfig(
            name="bench", type="kafka", bootstrap_servers=[bootstrap], timeout=600, interval=601
        )
        self.reader = ClusterReader(self.config)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def collect(self) -> Iterator[Metric]:
        state = asyncio.run_coroutine_threadsafe(self.reader.read(), self.loop).result()
        yield from to_metrics(state, self.config.cluster_label, {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CollectOnScrape(args.bootstrap))  # type: ignore[arg-type]
    server, thread = start_http_server(args.port, addr="127.0.0.1", registry=registry)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    server.shutdown()
    thread.join(5)


if __name__ == "__main__":
    main()

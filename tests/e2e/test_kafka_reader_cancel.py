"""A read cancelled at any point (a reload replacing the collector, a refresh timeout) leaves no
connection open: aiokafka leaks its bootstrap connection when the bootstrap itself is cancelled,
so the reader lets a cancelled bootstrap end by itself and closes its client then."""

from __future__ import annotations

import asyncio
import gc
import warnings

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.reader import ClusterReader
from tests.support.kafka_cluster import KafkaCluster

STEPS = 40


async def test_cancelled_reads_leave_no_connection_open(broker: KafkaCluster) -> None:
    config = KafkaConfig(
        name="cancel", type="kafka", bootstrap_servers=[broker.bootstrap], interval=30, timeout=10
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        completed = 0
        for step in range(STEPS):  # cancel after 0, 0.5, 1, ... ms: every stage of a first read
            reader = ClusterReader(config)
            read = asyncio.ensure_future(reader.read())
            await asyncio.sleep(step * 0.0005)
            read.cancel()
            try:
                await read
                completed += 1
            except asyncio.CancelledError:
                pass
            await reader.close()
        gc.collect()
        await asyncio.sleep(0)
    unclosed = [str(w.message) for w in caught if "Unclosed" in str(w.message)]
    assert not unclosed, unclosed
    assert completed < STEPS, "no read was cancelled: the test did not test anything"

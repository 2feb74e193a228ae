"""Large replies of one read decode in the reader's one decode thread, never side by side: several
decoding threads at once crowd the interpreter lock and starve the serving loop (the scrape
latency figures are in bench/results; here the thread discipline itself is checked)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read import reader as reader_module
from exporter.collectors.kafka.read.reader import ClusterReader
from tests.support.concurrency_watch import ConcurrencyWatch
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit_many, create_topics, unique

GROUPS = 12
PARTITIONS = 6


async def test_large_replies_decode_one_at_a_time_in_the_readers_thread(
    broker: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = unique("decode")
    topic = f"{prefix}-t"
    await create_topics(broker.bootstrap, {topic: PARTITIONS})
    offsets = {
        f"{prefix}-g{g}": {(topic, p): g * 10 + p + 1 for p in range(PARTITIONS)}
        for g in range(GROUPS)
    }
    await commit_many(broker.bootstrap, offsets)

    watched = ConcurrencyWatch(reader_module.decode_bounded)  # the real decode, counted
    # every reply counts as large, so each goes where a large one goes
    monkeypatch.setattr(reader_module, "INLINE_DECODE_BYTES", -1)
    monkeypatch.setattr(reader_module, "decode_bounded", watched)
    config = KafkaConfig(
        name="lane",
        type="kafka",
        bootstrap_servers=[broker.bootstrap],
        interval=30,
        timeout=20,
        max_concurrency=8,
        groups={"include": [f"{prefix}-.*"]},
        topics={"include": [topic]},
    )
    reader = ClusterReader(config)
    try:
        state = await reader.read()
    finally:
        await reader.close()
    assert {g: i.offsets for g, i in state.groups.items()} == offsets  # decoded right
    assert watched.calls >= 3, f"only {watched.calls} replies went to the decode thread"
    assert watched.most == 1, f"{watched.most} decodes ran at once"
    assert len(watched.threads) == 1, watched.threads
    (name,) = watched.threads
    assert name.startswith("decode-lane"), name
    assert await _ended(lambda: name not in {t.name for t in threading.enumerate()})


async def _ended(check: Callable[[], bool], within: float = 5.0) -> bool:
    """Whether `check()` holds within `within` seconds (the closed reader's thread ends)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True

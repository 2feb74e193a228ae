"""The refresh loop: each outcome becomes a snapshot (success, error, timeout), a collector never
overlaps itself, a failure never ends its loop, and stopping waits for the loop to end.

The collector here is a small kind of the test's own (the `Collector` interface, no source), so
the loop is exercised exactly as the daemon runs it, on the collector thread."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal

from prometheus_client.core import Metric

from exporter.collectors.base import Collector, CollectorConfig
from exporter.collectors.families import MetricSpec
from exporter.daemon.collector_loop import CollectorThread
from exporter.daemon.scheduler import Scheduler, refresh_once
from exporter.exposition.store import Snapshot

TICKS = MetricSpec("ticks", "gauge", "Refreshes so far.")


class ScriptConfig(CollectorConfig):
    """A collector that follows a script: each step is a delay and whether to fail."""

    type: Literal["script"] = "script"
    steps: tuple[tuple[float, bool], ...] = ((0.0, False),)


class ScriptCollector(Collector[ScriptConfig, int]):
    """Sleeps and fails as its script says; counts concurrent fetches."""

    config_model = ScriptConfig
    catalogue = (TICKS,)

    def __init__(self, config: ScriptConfig) -> None:
        super().__init__(config)
        self.calls = 0
        self.running = 0
        self.most_at_once = 0

    async def fetch(self) -> int:
        delay, fail = self.config.steps[min(self.calls, len(self.config.steps) - 1)]
        self.calls += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(delay)
        finally:
            self.running -= 1
        if fail:
            raise ConnectionError("source refused")
        return self.calls

    def to_metrics(self, fetched: int) -> Sequence[Metric]:
        builder = TICKS.family({"collector": self.name})
        builder.add([], float(fetched))
        return [builder.build()]


def _collector(
    steps: tuple[tuple[float, bool], ...], interval: float, timeout: float
) -> ScriptCollector:
    config = ScriptConfig(name="script", interval=interval, timeout=timeout, steps=steps)
    return ScriptCollector(config)


async def test_success_error_and_timeout_each_become_a_snapshot() -> None:
    collector = _collector(((0.0, False), (0.0, True), (1.0, False)), interval=2.0, timeout=0.2)
    ok = await refresh_once(collector)
    assert ok.ok and ok.error is None and ok.collector == "script"
    assert b'ticks{collector="script"} 1.0' in b"".join(r.samples for r in ok.rendered)
    failed = await refresh_once(collector)
    assert not failed.ok and failed.error == "ConnectionError: source refused"
    timed_out = await refresh_once(collector)
    assert not timed_out.ok and timed_out.error == "refresh timed out after 0.2s"
    assert timed_out.duration < 1.0, "the slow fetch was cut at the timeout"


async def test_the_loop_never_overlaps_and_outlives_failures() -> None:
    # fetches slower than the interval, every other one failing
    collector = _collector(((0.25, False), (0.25, True)), interval=0.1, timeout=0.5)
    published: list[Snapshot] = []

    async def publish(snapshot: Snapshot) -> None:
        published.append(snapshot)

    with CollectorThread(name="collectors-test") as thread:
        async with Scheduler(publish, thread) as scheduler:
            scheduler.start(collector)
            for _ in range(100):
                if len(published) >= 5:
                    break
                await asyncio.sleep(0.05)
            await scheduler.stop("script")
            after_stop = len(published)
            await asyncio.sleep(0.3)
    assert collector.most_at_once == 1, "a refresh started while the previous one ran"
    assert len(published) >= 5 and [s.ok for s in published[:4]] == [True, False, False, False]
    assert len(published) == after_stop, "the loop went on after stop()"

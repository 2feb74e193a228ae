"""The /metrics page: collector families rendered once per refresh, self-metrics per scrape.

A `Page` holds the joined text of every visible snapshot and its gzip prefix; it is rebuilt off the
event loop when a snapshot is published or a snapshot goes stale. Each scrape appends the small,
always-current tail (self-metrics, process metrics) without re-rendering or re-compressing the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from exporter import __version__
from exporter.compression import GzipPrefix
from exporter.rendering import join_families, render_families
from exporter.self_metrics import DaemonCounters, self_metric_families
from exporter.snapshot import Snapshot, SnapshotStore

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass(frozen=True)
class Page:
    """Rendered collector families of one moment."""

    text: bytes
    snapshots: tuple[Snapshot, ...] = ()
    gzip: GzipPrefix = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gzip", GzipPrefix(self.text))

    @staticmethod
    def build(snapshots: Sequence[Snapshot]) -> Page:
        """Join the rendered families of `snapshots` (run in a worker thread)."""
        return Page(join_families(s.rendered for s in snapshots), tuple(snapshots))

    @cached_property
    def families(self) -> list[Metric]:
        """Every family of the page, for OpenMetrics output."""
        return [family for s in self.snapshots for family in s.families]


class _Families:
    """Adapter that lets prometheus_client's OpenMetrics writer read a list of families."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


class Exposition:
    """Builds and serves the /metrics page from the snapshot store."""

    def __init__(self, store: SnapshotStore, daemon: DaemonCounters | None = None) -> None:
        self._store = store
        self._daemon = daemon
        self._page = Page(b"")
        self._lock = asyncio.Lock()
        self._stale_check = asyncio.Event()
        self._process = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self._process)
        PlatformCollector(registry=self._process)

    async def publish(self, snapshot: Snapshot) -> None:
        """Record `snapshot` and swap in a page that shows it, atomically for readers."""
        async with self._lock:
            now = time.monotonic()
            visible = []
            for status in self._store.statuses():
                if status.name == snapshot.collector and snapshot.ok:
                    visible.append(snapshot)
                elif (current := status.visible(now)) is not None:
                    visible.append(current)
            page = await asyncio.to_thread(Page.build, visible)
            self._store.record(snapshot)
            self._page = page
            self._stale_check.set()

    async def rebuild(self) -> None:
        """Rebuild the page from the store (after staleness or a removed collector)."""
        async with self._lock:
            now = time.monotonic()
            visible = [s for status in self._store.statuses() if (s := status.visible(now))]
            self._page = await asyncio.to_thread(Page.build, visible)

    async def expire_stale(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Run forever: rebuild the page whenever a shown snapshot reaches its `stale_after`."""
        while True:
            shown = {s.collector for s in self._page.snapshots}
            deadlines = [
                d
                for status in self._store.statuses()
                if status.name in shown and (d := status.stale_at()) is not None
            ]
            timeout = max(min(deadlines) - clock(), 0.0) + 0.01 if deadlines else None
            self._stale_check.clear()
            try:
                await asyncio.wait_for(self._stale_check.wait(), timeout)
            except asyncio.TimeoutError:
                await self.rebuild()

    def _tail(self) -> bytes:
        families = [
            *self_metric_families(self._store, __version__, self._daemon),
            *self._process.collect(),
        ]
        return join_families([render_families(families)])

    def text(self) -> bytes:
        """The whole page in the text format."""
        return self._page.text + self._tail()

    def gzip(self) -> bytes:
        """The whole page gzipped; only the tail is compressed per call."""
        return self._page.gzip.with_tail(self._tail())

    def openmetrics(self) -> bytes:
        """The whole page in the OpenMetrics format."""
        families = [
            *self._page.families,
            *self_metric_families(self._store, __version__, self._daemon),
            *self._process.collect(),
        ]
        return generate_openmetrics(_Families(families))

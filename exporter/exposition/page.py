"""The /metrics page: collector families rendered once per refresh, self-metrics per scrape.

A `Page` holds the joined text of every visible snapshot and its gzip prefix; it is rebuilt off the
event loop when a snapshot is published or a snapshot goes stale, and compresses again only the
pieces that changed since the page before. Each scrape appends the small,
current tail (self-metrics; process metrics read at most once a second) without re-rendering or
re-compressing the rest; a gzip body whose page and tail did not change is served again as is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from exporter import __version__
from exporter.exposition.body import ChunksBody
from exporter.exposition.gzip_prefix import GzipPrefix
from exporter.exposition.heap import heap_trimmer
from exporter.exposition.process_metrics import ProcessMetrics
from exporter.exposition.render import RenderedFamily, family_chunks, join_families, render_families
from exporter.exposition.self_metrics import DaemonCounters, self_metric_families
from exporter.exposition.store import CollectorStatus, Snapshot, SnapshotStore

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass(frozen=True)
class Page:
    """Rendered collector families of one moment.

    `chunks` are the snapshots' own rendered bytes in page order (shared, not copied: a scrape
    joins them with its tail once); `openmetrics_chunks` the same with OpenMetrics headers (the
    format Prometheus asks for first; the sample chunks are shared). `gzip` holds compressed
    prefixes by format, made once per page for the formats scrapers asked gzipped before, and
    on first demand for another.
    """

    snapshots: tuple[Snapshot, ...] = ()
    chunks: tuple[bytes, ...] = field(init=False)
    openmetrics_chunks: tuple[bytes, ...] = field(init=False)
    gzip: dict[str, GzipPrefix] = field(init=False)

    def __post_init__(self) -> None:
        chunks = tuple(family_chunks(s.rendered for s in self.snapshots))
        om_chunks = tuple(family_chunks((s.rendered for s in self.snapshots), openmetrics=True))
        object.__setattr__(self, "chunks", chunks)
        object.__setattr__(self, "openmetrics_chunks", om_chunks)
        object.__setattr__(self, "gzip", {})

    def chunks_of(self, fmt: str) -> tuple[bytes, ...]:
        """The page's chunks in `fmt` ("text" or "openmetrics")."""
        return self.openmetrics_chunks if fmt == "openmetrics" else self.chunks

    def compress(self, fmt: str, reuse: GzipPrefix | None = None) -> GzipPrefix:
        """The gzip prefix of `fmt`, made now if not made yet (CPU-heavy: call off the loop);
        pieces equal to those of `reuse` (an earlier page's) are not compressed again."""
        prefix = self.gzip.get(fmt)
        if prefix is None:
            prefix = self.gzip[fmt] = GzipPrefix(self.chunks_of(fmt), reuse=reuse)
        return prefix

    @staticmethod
    def build(
        snapshots: Sequence[Snapshot],
        gzip_formats: frozenset[str] = frozenset(),
        previous: Mapping[str, GzipPrefix] | None = None,
    ) -> Page:
        """Order the rendered families of `snapshots` and compress them for `gzip_formats`
        (in a worker thread), reusing the unchanged pieces of the `previous` page's prefixes."""
        page = Page(tuple(snapshots))
        for fmt in gzip_formats:
            page.compress(fmt, (previous or {}).get(fmt))
        return page


class Exposition:
    """Builds and serves the /metrics page from the snapshot store, and is the store's one writer:
    collectors are tracked and forgotten here (by the runtime) and their refreshes published here
    (by the scheduler); the HTTP routes only read it."""

    def __init__(self, store: SnapshotStore, daemon: DaemonCounters | None = None) -> None:
        self._store = store
        self._daemon = daemon
        self._page = Page()
        self._gzip_formats: set[str] = set()
        self._lock = asyncio.Lock()
        self._trim_heap = heap_trimmer()
        self._stale_check = asyncio.Event()
        self._process = ProcessMetrics()
        self._gzipped: dict[str, tuple[GzipPrefix, bytes, bytes]] = {}
        """format -> (prefix, tail, body) of the last gzip response, reused while both match."""

    def _visible(self, newest: Snapshot | None = None) -> list[Snapshot]:
        """The snapshots a page shows now, `newest` in place of its collector's current one."""
        now = time.monotonic()
        shown = []
        for status in self._store.statuses():
            if newest is not None and status.name == newest.collector:
                shown.append(newest)
            elif (current := status.visible(now)) is not None:
                shown.append(current)
        return shown

    def track(self, status: CollectorStatus) -> None:
        """Show a new collector (before its first refresh): the store's only writer is here."""
        self._store.register(status)

    def forget(self, name: str) -> None:
        """Stop showing a collector; `rebuild()` drops its series from the page."""
        self._store.unregister(name)

    async def publish(self, snapshot: Snapshot) -> None:
        """Record `snapshot` and swap in a page that shows it, atomically for readers."""
        async with self._lock:
            visible = self._visible(snapshot if snapshot.ok else None)
            formats = frozenset(self._gzip_formats)
            page = await asyncio.to_thread(Page.build, visible, formats, self._page.gzip)
            self._store.record(snapshot)
            self._page = page
            self._stale_check.set()
        # The previous page and snapshot are garbage now: hand their memory back.
        await asyncio.to_thread(self._trim_heap)

    async def rebuild(self) -> None:
        """Rebuild the page from the store (after staleness or a removed collector)."""
        async with self._lock:
            visible = self._visible()
            formats = frozenset(self._gzip_formats)
            self._page = await asyncio.to_thread(Page.build, visible, formats, self._page.gzip)

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

    def _tail_families(self) -> tuple[RenderedFamily, ...]:
        families = [
            *self_metric_families(self._store, __version__, self._daemon),
            *self._process.families(),
        ]
        return render_families(families)

    def _tail(self) -> bytes:
        return join_families([self._tail_families()])

    def text(self) -> ChunksBody:
        """The whole page in the text format (streamed from the shared page chunks)."""
        return ChunksBody([*self._page.chunks, self._tail()])

    async def gzip(self, openmetrics: bool = False) -> bytes:
        """The whole page gzipped, as text or OpenMetrics; only the tail is compressed per call.

        The first gzip request of a format compresses the page in a worker thread; from then on
        each new page is compressed in that format once, when it is built.
        """
        fmt = "openmetrics" if openmetrics else "text"
        page = self._page
        prefix = page.gzip.get(fmt)
        if prefix is None:
            self._gzip_formats.add(fmt)
            prefix = await asyncio.to_thread(page.compress, fmt)
        tail = self._openmetrics_tail() if openmetrics else self._tail()
        last = self._gzipped.get(fmt)
        if last is not None and last[0] is prefix and last[1] == tail:
            return last[2]  # nothing changed since: no compression (it would release the GIL)
        body = prefix.with_tail(tail)
        self._gzipped[fmt] = (prefix, tail, body)
        return body

    def _openmetrics_tail(self) -> bytes:
        return join_families([self._tail_families()], openmetrics=True) + b"# EOF\n"

    def openmetrics(self) -> ChunksBody:
        """The whole page in the OpenMetrics format (streamed like `text()`)."""
        return ChunksBody([*self._page.openmetrics_chunks, self._openmetrics_tail()])

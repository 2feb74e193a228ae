"""One refresh loop per collector: every interval, under a timeout, never overlapping itself.

A refresh is `fetch()` (I/O, bounded by the timeout) followed by `to_metrics()` and rendering in a
worker thread. Any exception or timeout becomes a failed snapshot; it never leaves the loop, so
one collector cannot affect another or the server. Refreshes and `close()` run on the collector
loop (`CollectorThread`); snapshots are published on the serving loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from exporter.collectors.base import Collector, Health
from exporter.daemon.collector_loop import CollectorThread
from exporter.exposition.render import KeptBlocks, RenderedFamily, render_families
from exporter.exposition.store import Snapshot

log = logging.getLogger(__name__)
Publish = Callable[[Snapshot], Awaitable[None]]
CLOSE_GRACE = 3.0


def _convert(
    collector: Collector, fetched: object, timings: dict[str, float], kept: KeptBlocks | None
) -> tuple[tuple[RenderedFamily, ...], Health]:
    """Families of `fetched`, rendered; only the text is kept (families are dropped here)."""
    started = time.perf_counter()
    families = collector.to_metrics(fetched)
    health = collector.health(fetched)
    converted = time.perf_counter()
    rendered = render_families(families, kept)
    timings["convert"] = converted - started
    timings["render"] = time.perf_counter() - converted
    return rendered, health


async def refresh_once(collector: Collector, kept: KeptBlocks | None = None) -> Snapshot:
    """Run one refresh and describe its outcome; never raises except on cancellation.

    `kept`: the label blocks of this collector's last rendering, owned by its refresh loop (a
    rendering builds blocks only for rows the last one did not have)."""
    cfg = collector.config
    started, cpu = time.monotonic(), time.process_time()
    timings: dict[str, float] = {}
    try:
        fetched = await asyncio.wait_for(collector.fetch(), cfg.timeout)
        timings["fetch"] = time.monotonic() - started
        rendered, health = await asyncio.to_thread(_convert, collector, fetched, timings, kept)
    except asyncio.TimeoutError:
        error = f"refresh timed out after {cfg.timeout:g}s"
    except Exception as exc:  # noqa: BLE001 - every failure becomes a snapshot, logged below
        error = collector.describe_error(exc)
    else:
        timings["cpu"] = time.process_time() - cpu  # the whole process's, scrapes included
        return Snapshot(
            collector=cfg.name,
            ok=True,
            finished_at=time.time(),
            duration=time.monotonic() - started,
            rendered=rendered,
            health=health,
            timings=timings,
        )
    log.warning("collector %s: refresh failed: %s", cfg.name, error, extra={"collector": cfg.name})
    return Snapshot(
        collector=cfg.name,
        ok=False,
        finished_at=time.time(),
        duration=time.monotonic() - started,
        error=error,
    )


def log_refresh(snapshot: Snapshot, publish_seconds: float) -> None:
    """One debug line per successful refresh with its timings (bench/ reads them as JSON)."""
    if not snapshot.ok or not log.isEnabledFor(logging.DEBUG):
        return
    timings = {k: round(v, 6) for k, v in snapshot.timings.items()}
    timings["publish"] = round(publish_seconds, 6)
    log.debug(
        "collector %s: refreshed in %.3fs (%s)",
        snapshot.collector,
        snapshot.duration,
        " ".join(f"{k} {v:.3f}s" for k, v in timings.items()),
        extra={
            "collector": snapshot.collector,
            "timings": timings,
            "started_at": snapshot.finished_at - snapshot.duration,
            "published_at": time.time(),
        },
    )


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and wait until each has ended, whatever it raised."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_forever(collector: Collector, publish: Publish, thread: CollectorThread) -> None:
    """Refresh `collector` (on the collector loop) now and then every interval until cancelled."""
    interval = collector.config.interval
    kept = KeptBlocks()
    while True:
        started = time.monotonic()
        snapshot = await thread.run(refresh_once(collector, kept))
        await publish(snapshot)
        log_refresh(snapshot, time.monotonic() - started - snapshot.duration)
        await asyncio.sleep(max(started + interval - time.monotonic(), 0.0))


class Scheduler:
    """Owns the refresh tasks; an async context manager that cancels them on exit."""

    def __init__(self, publish: Publish, thread: CollectorThread) -> None:
        self._publish = publish
        self._thread = thread
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, collector: Collector) -> None:
        """Start the refresh loop of `collector`."""
        task = asyncio.create_task(
            run_forever(collector, self._publish, self._thread), name=f"refresh:{collector.name}"
        )
        self._tasks[collector.name] = task
        task.add_done_callback(self._report_crash)

    async def stop(self, name: str) -> None:
        """Cancel one collector's loop and wait for it."""
        task = self._tasks.pop(name, None)
        if task is not None:
            await cancel_and_wait(task)

    async def close(self, collector: Collector) -> None:
        """Close one collector's clients on the collector loop; failures are logged, not raised."""
        try:
            await asyncio.wait_for(self._thread.run(collector.close()), CLOSE_GRACE)
        except Exception as exc:  # noqa: BLE001 - stopping goes on whatever one client does
            log.warning("collector %s: close failed: %r", collector.name, exc)

    async def __aenter__(self) -> Scheduler:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for name in list(self._tasks):
            await self.stop(name)

    @staticmethod
    def _report_crash(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("refresh loop %s crashed: %r", task.get_name(), task.exception())

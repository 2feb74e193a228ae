"""Wiring and life cycle: build collectors, store, exposition, scheduler and HTTP server; stop on
SIGTERM/SIGINT in reverse order of start (HTTP, refresh loops, clients)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from contextlib import AsyncExitStack

from aiohttp import web

from exporter.collectors import build_collector
from exporter.collectors.base import Collector
from exporter.config import AppConfig, parse_listen
from exporter.exposition import Exposition
from exporter.http import Endpoints
from exporter.scheduler import Scheduler
from exporter.snapshot import CollectorStatus, SnapshotStore

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 3.0


def _status_of(collector: Collector) -> CollectorStatus:
    cfg = collector.config
    return CollectorStatus(
        name=cfg.name,
        type=cfg.type,
        health_enabled=bool(cfg.health),
        stale_after=cfg.stale_after_s,
        health_when_failing=collector.health_when_failing,
    )


async def _close(collector: Collector) -> None:
    try:
        await asyncio.wait_for(collector.close(), SHUTDOWN_GRACE)
    except Exception as exc:  # noqa: BLE001 - shutdown goes on whatever one client does
        log.warning("collector %s: close failed: %r", collector.name, exc)


async def serve(
    config: AppConfig, listen: str | None = None, stop: asyncio.Event | None = None
) -> None:
    """Run the exporter until `stop` is set (or SIGTERM/SIGINT arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    host, port = parse_listen(listen or config.server.listen)
    store = SnapshotStore()
    exposition = Exposition(store)
    async with AsyncExitStack() as stack:
        collectors = [build_collector(entry) for entry in config.collectors]
        for collector in collectors:
            stack.push_async_callback(_close, collector)
            store.register(_status_of(collector))

        scheduler = await stack.enter_async_context(Scheduler(exposition.publish))
        expiry = asyncio.create_task(exposition.expire_stale(), name="expire-stale")
        stack.push_async_callback(_cancel, expiry)
        for collector in collectors:
            scheduler.start(collector)

        runner = web.AppRunner(Endpoints(store, exposition).application(), shutdown_timeout=1.0)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, host, port).start()
        log.info(
            "serving on http://%s:%d/metrics with %d collector(s)", host, port, len(collectors)
        )
        await stop.wait()
        log.info("shutting down")


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

"""The running set of collectors, and how a new collector list is applied to it.

Configs are compared by value: an unchanged collector keeps running with its state (clients, time
series tables, failure counts); a changed one is stopped, closed and started afresh; a removed one
is stopped and its series vanish at once; a new one starts. Applies are serialised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from exporter.collectors.base import Collector, CollectorConfig
from exporter.collectors.registry import build_collector
from exporter.exposition.page import Exposition
from exporter.exposition.store import CollectorStatus

log = logging.getLogger(__name__)


class CollectorRunner(Protocol):
    """What runs the collectors' refreshes: `Scheduler` (threads of this process) or
    `ProcessScheduler` (a process per collector)."""

    def start(self, collector: Collector[Any, Any]) -> None:
        """Start refreshing `collector`."""

    async def stop(self, name: str) -> None:
        """Stop refreshing the collector `name` and wait until it has stopped."""

    async def close(self, collector: Collector[Any, Any]) -> None:
        """Release `collector`'s clients (after `stop`)."""


@dataclass(frozen=True)
class Changes:
    """What an apply did, by collector name."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        """JSON-friendly form."""
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
        }


def status_of(collector: Collector) -> CollectorStatus:
    """A fresh store entry for `collector`."""
    cfg = collector.config
    return CollectorStatus(
        name=cfg.name,
        type=cfg.type,
        health_enabled=bool(cfg.health),
        stale_after=cfg.stale_after,
        health_when_failing=collector.health_when_failing,
    )


class Runtime:
    """Owns the collectors the scheduler runs and the store entries that show them."""

    def __init__(self, exposition: Exposition, scheduler: CollectorRunner) -> None:
        self._exposition = exposition
        self._scheduler = scheduler
        self._running: dict[str, Collector] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def configs(self) -> list[CollectorConfig]:
        """The configs of the running collectors."""
        return [c.config for c in self._running.values()]

    async def apply(self, entries: Sequence[CollectorConfig]) -> Changes:
        """Make the running collectors match `entries`.

        Every new collector is built before anything stops, so a kind whose constructor fails
        leaves the running set untouched (the exception propagates).
        """
        async with self._lock:
            if self._closed:
                raise RuntimeError("the exporter is shutting down")
            wanted = {entry.name: entry for entry in entries}
            old = self._running
            changes = Changes(
                added=[n for n in wanted if n not in old],
                changed=[n for n in wanted if n in old and old[n].config != wanted[n]],
                removed=[n for n in old if n not in wanted],
                unchanged=[n for n in wanted if n in old and old[n].config == wanted[n]],
            )
            fresh = await self._build([wanted[n] for n in wanted if n not in changes.unchanged])
            going = [old[n] for n in (*changes.removed, *changes.changed)]
            for collector in going:
                await self._scheduler.stop(collector.name)
                self._exposition.forget(collector.name)
                del self._running[collector.name]
            if going:
                await self._exposition.rebuild()
                await asyncio.gather(*(self._scheduler.close(c) for c in going))
            for collector in fresh:
                self._running[collector.name] = collector
                self._exposition.track(status_of(collector))
                self._scheduler.start(collector)
            return changes

    async def _build(self, entries: Sequence[CollectorConfig]) -> list[Collector]:
        """Build collectors in a worker thread: a kind may import a large SDK on first use, which
        on a reload would otherwise stall the serving loop."""
        built: list[Collector] = []
        try:
            for entry in entries:
                built.append(await asyncio.to_thread(build_collector, entry))
        except Exception:
            await asyncio.gather(*(self._scheduler.close(c) for c in built))
            raise
        return built

    async def close(self) -> None:
        """Stop every refresh loop, then close every collector (at shutdown)."""
        async with self._lock:
            self._closed = True
            going = list(self._running.values())
            for collector in going:
                await self._scheduler.stop(collector.name)
            self._running.clear()
            await asyncio.gather(*(self._scheduler.close(c) for c in going))

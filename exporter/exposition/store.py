"""Snapshots (the outcome of one refresh) and the store of the latest ones per collector."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from exporter.collectors.base import Health
from exporter.exposition.render import RenderedFamily

HealthWhenFailing = Callable[[float, bool, str], Health]


@dataclass(frozen=True)
class Snapshot:
    """The outcome of one refresh of one collector."""

    collector: str
    ok: bool
    finished_at: float
    """Unix time the refresh ended."""
    duration: float
    error: str | None = None
    rendered: tuple[RenderedFamily, ...] = ()
    health: Health | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per refresh step (fetch, convert, render, cpu), for debugging/benchmarks."""


@dataclass
class CollectorStatus:
    """What the store knows about one collector."""

    name: str
    type: str
    health_enabled: bool
    stale_after: float
    health_when_failing: HealthWhenFailing
    started_mono: float = field(default_factory=time.monotonic)
    last: Snapshot | None = None
    last_success: Snapshot | None = None
    last_success_mono: float | None = None
    failures: int = 0

    def is_stale(self, now_mono: float) -> bool:
        """True when the last success is older than `stale_after` (or there never was one)."""
        return (
            self.last_success_mono is None or now_mono - self.last_success_mono > self.stale_after
        )

    def visible(self, now_mono: float) -> Snapshot | None:
        """The snapshot whose series are exposed now: the last success until it goes stale."""
        return None if self.is_stale(now_mono) else self.last_success

    def stale_at(self) -> float | None:
        """Monotonic time when the visible snapshot goes stale, if any."""
        if self.last_success_mono is None:
            return None
        return self.last_success_mono + self.stale_after

    def current_health(self, now_mono: float) -> Health:
        """Health now: the last successful verdict, or the collector's policy while failing."""
        last = self.last
        if last is not None and last.ok and last.health is not None:
            return last.health
        since = self.last_success_mono if self.last_success_mono is not None else self.started_mono
        error = (last.error if last is not None else None) or "no refresh has finished yet"
        return self.health_when_failing(now_mono - since, self.is_stale(now_mono), error)


class SnapshotStore:
    """Latest snapshot per collector."""

    def __init__(self) -> None:
        self._statuses: dict[str, CollectorStatus] = {}

    def register(self, status: CollectorStatus) -> None:
        """Add a collector before its first refresh."""
        self._statuses[status.name] = status

    def unregister(self, name: str) -> None:
        """Forget a collector; its series disappear."""
        self._statuses.pop(name, None)

    def record(self, snapshot: Snapshot) -> None:
        """Store the outcome of a refresh."""
        status = self._statuses.get(snapshot.collector)
        if status is None:
            return
        status.last = snapshot
        if snapshot.ok:
            status.last_success = snapshot
            status.last_success_mono = time.monotonic()
        else:
            status.failures += 1

    def statuses(self) -> list[CollectorStatus]:
        """Every collector's status, in registration order."""
        return list(self._statuses.values())

    def get(self, name: str) -> CollectorStatus | None:
        """One collector's status."""
        return self._statuses.get(name)

"""The snapshot store: the last success stays visible until `stale_after`, failures are counted,
health while failing follows the collector's policy, and unknown collectors are ignored."""

from __future__ import annotations

import time

from exporter.collectors.base import Health
from exporter.exposition.store import CollectorStatus, Snapshot, SnapshotStore


def _failing_policy(failing_for: float, stale: bool, error: str) -> Health:
    return Health(not stale, f"{failing_for:.0f}s stale={stale}: {error}")


def _snapshot(ok: bool, error: str | None = None) -> Snapshot:
    return Snapshot(collector="c", ok=ok, finished_at=time.time(), duration=0.01, error=error)


def test_success_visible_until_stale_then_gone() -> None:
    store = SnapshotStore()
    store.register(CollectorStatus("c", "kafka", True, 0.2, _failing_policy))
    status = store.get("c")
    assert status is not None and status.visible(time.monotonic()) is None  # nothing yet
    good = _snapshot(True)
    store.record(good)
    now = time.monotonic()
    assert status.visible(now) is good and not status.is_stale(now)
    store.record(_snapshot(False, "boom"))  # a failure keeps the last success visible
    assert status.visible(time.monotonic()) is good and status.failures == 1
    later = now + 0.3
    assert status.is_stale(later) and status.visible(later) is None
    assert status.current_health(later) == Health(False, "0s stale=True: boom")


def test_health_before_the_first_refresh_and_unknown_collectors() -> None:
    store = SnapshotStore()
    store.register(CollectorStatus("c", "jmx", True, 10.0, _failing_policy))
    status = store.get("c")
    assert status is not None
    assert status.current_health(time.monotonic()).reason.endswith("no refresh has finished yet")
    store.record(Snapshot(collector="other", ok=True, finished_at=0.0, duration=0.0))
    assert store.get("other") is None and [s.name for s in store.statuses()] == ["c"]
    store.unregister("c")
    assert store.statuses() == []

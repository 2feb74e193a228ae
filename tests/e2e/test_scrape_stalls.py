"""What keeps scrapes quick while a refresh holds the other thread busy: process metrics read at
most once per TTL, gzip bodies reused until the page or the tail changes, start-up objects frozen
out of the garbage collector, short GIL turns."""

from __future__ import annotations

import gc
import gzip
import sys

from exporter.daemon.interpreter import GC_THRESHOLDS, GIL_SWITCH_INTERVAL, tune_interpreter
from exporter.exposition.page import Exposition
from exporter.exposition.process_metrics import ProcessMetrics
from exporter.exposition.self_metrics import DaemonCounters
from exporter.exposition.store import SnapshotStore
from tests.support.exporter_process import parse_metrics, value


def test_process_metrics_are_read_again_only_after_the_ttl() -> None:
    now = [100.0]
    metrics = ProcessMetrics(ttl=1.0, clock=lambda: now[0])
    first = metrics.families()
    assert "process_cpu_seconds" in {f.name for f in first}
    now[0] += 0.5
    assert metrics.families() is first
    now[0] += 0.5
    again = metrics.families()
    assert again is not first
    assert {f.name for f in again} == {f.name for f in first}


async def test_gzip_body_is_reused_until_the_tail_changes() -> None:
    daemon = DaemonCounters()
    exposition = Exposition(SnapshotStore(), daemon)
    first = await exposition.gzip()
    assert await exposition.gzip() is first  # same page, same tail (process metrics cached)
    daemon.reload_failed()  # a self-metric changes: the next body shows it at once
    changed = await exposition.gzip()
    assert changed is not first
    samples = parse_metrics(gzip.decompress(changed).decode())
    assert value(samples, "kafka_health_exporter_config_reloads_total", result="failure") == 1
    om = gzip.decompress(await exposition.gzip(openmetrics=True)).decode()
    assert om.endswith("# EOF\n")


def test_tune_interpreter_freezes_start_up_objects() -> None:
    before, thresholds = sys.getswitchinterval(), gc.get_threshold()
    try:
        tune_interpreter()
        assert gc.get_freeze_count() > 1000
        assert sys.getswitchinterval() == GIL_SWITCH_INTERVAL
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.unfreeze()
        sys.setswitchinterval(before)
        gc.set_threshold(*thresholds)

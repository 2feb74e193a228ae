"""Interpreter settings for a process that serves scrapes while refreshes run beside it: shorter
GIL turns, rarer full garbage collections, two malloc arenas, large blocks mmapped, and the
objects alive at start frozen out of the collector's sight."""

from __future__ import annotations

import gc
import sys

from exporter.exposition.heap import fix_mmap_threshold, limit_malloc_arenas

GIL_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits (Python's default is 0.005): shorter
turns keep the serving loop responsive while the collector loop decodes and renders."""
GC_THRESHOLDS = (700, 10, 100)
"""Python's defaults but a full collection only after 100 (not 10) middle ones: a refresh of
50,000 lag series keeps ~500,000 young objects alive while it builds its page, and each full
collection that lands then walks them all with every thread stopped (20-30 ms, twice a refresh
with the defaults). Cycles are still collected, in the young generations as before."""


def tune_interpreter() -> str:
    """Shorter GIL turns; rarer full collections; two malloc arenas for every thread; blocks of
    megabytes mmapped (so a page swap leaves them nowhere for a heap trim to walk); and the
    objects alive at start (modules, classes: ~60,000) moved out of the garbage collector's
    sight, so a full collection no longer walks them (15 ms each time, every thread stopped).
    Called first by the server and by each collector process; returns what it set, for the
    debug log."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    gc.set_threshold(*GC_THRESHOLDS)
    limit_malloc_arenas()
    fix_mmap_threshold()
    gc.collect()
    gc.freeze()
    return (
        f"switch interval {GIL_SWITCH_INTERVAL * 1000:g} ms, gc thresholds {GC_THRESHOLDS}, "
        f"{gc.get_freeze_count()} start-up objects frozen"
    )

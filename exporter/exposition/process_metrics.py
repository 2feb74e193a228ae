"""`process_*` and `python_info` families, read from /proc at most once per `ttl` seconds.

Each /proc read releases the GIL; while a refresh keeps the other thread busy, every release costs
the serving loop up to a whole switch interval to get the GIL back (a dozen reads took a scrape
from 0.05 ms to 11 ms). Scrapes within `ttl` of each other share one reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import Metric

PROCESS_METRICS_TTL = 1.0
"""Seconds one reading of /proc serves scrapes for."""


class ProcessMetrics:
    """prometheus_client's process and platform collectors behind a short-lived cache."""

    def __init__(
        self, ttl: float = PROCESS_METRICS_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self._registry)
        PlatformCollector(registry=self._registry)
        self._ttl = ttl
        self._clock = clock
        self._families: list[Metric] = []
        self._read_at = float("-inf")

    def families(self) -> list[Metric]:
        """The families of the last reading, read again when it is `ttl` old."""
        now = self._clock()
        if now - self._read_at >= self._ttl:
            self._families = list(self._registry.collect())
            self._read_at = now
        return self._families

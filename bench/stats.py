"""Small statistics helpers for the benchmark report."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (q in [0, 1]); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def summary(values: Sequence[float]) -> dict[str, float]:
    """median, p95, p99, min, max and count."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "median": statistics.median(values),
        "p95": quantile(values, 0.95),
        "p99": quantile(values, 0.99),
        "min": min(values),
        "max": max(values),
    }


def latency_row(latencies: Sequence[float]) -> dict[str, float]:
    """count, p50, p99 and max of scrape latencies (seconds), in ms."""
    stats = summary(latencies)
    if not stats["count"]:
        return {"count": 0}
    return {
        "count": stats["count"],
        "p50_ms": stats["median"] * 1000,
        "p99_ms": stats["p99"] * 1000,
        "max_ms": stats["max"] * 1000,
    }

"""What one refresh of CloudMonitor read: plain data, no SDK objects."""

from __future__ import annotations

from dataclasses import dataclass, field

SeriesKey = tuple[str, str]
"""(instance id, consumer group)."""


@dataclass(frozen=True)
class Datapoint:
    """The newest usable CloudMonitor point of one series."""

    timestamp: float
    """Unix time of the point, in seconds."""
    value: float


@dataclass(frozen=True)
class CmsState:
    """Everything one refresh produced, including the collector's cumulative API call counts.

    `api_calls` is a snapshot of the counts the collector keeps across refreshes (failed ones
    included), so `to_metrics` stays pure and a success after failures shows every call made.
    """

    series: dict[str, dict[SeriesKey, Datapoint]]
    """cms_metric -> (instance id, consumer group) -> newest point, already filtered."""
    api_calls: dict[str, int]
    """Result code -> calls since start, e.g. {"200": 12, "Throttling.User": 1}."""
    calls: int = 0
    """API calls made by this refresh (retries included)."""
    invalid: dict[tuple[str, str], int] = field(default_factory=dict)
    """(cms_metric, reason) -> points dropped as invalid since start (negative, not a number,
    no labels, ...), like `api_calls` a cumulative snapshot."""

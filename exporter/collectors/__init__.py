"""The registry of collector kinds: the only place that knows every kind by name.

Adding a kind means writing its module and adding one line to `_KINDS`.
"""

from __future__ import annotations

from exporter.collectors.base import Collector, CollectorConfig
from exporter.collectors.kafka import KafkaCollector

_KINDS: dict[str, type[Collector]] = {
    "kafka": KafkaCollector,
}


def kind_names() -> list[str]:
    """Every registered `type` value."""
    return sorted(_KINDS)


def kind_of(type_name: str) -> type[Collector] | None:
    """The collector class for a `type` value, or None."""
    return _KINDS.get(type_name)


def all_kinds() -> dict[str, type[Collector]]:
    """A copy of the registry (type -> class)."""
    return dict(_KINDS)


def build_collector(config: CollectorConfig) -> Collector:
    """Instantiate the collector for a validated config entry."""
    cls = _KINDS[config.type]
    return cls(config)

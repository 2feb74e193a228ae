"""The registry of collector kinds: the only place that knows every kind by name.

Adding a kind means writing its module and adding one line to `_KINDS`.
"""

from __future__ import annotations

from exporter.catalogue import MetricSpec
from exporter.collectors.aliyun_cms import AliyunCmsCollector
from exporter.collectors.base import Collector, CollectorConfig
from exporter.collectors.jmx import JmxCollector
from exporter.collectors.kafka import KafkaCollector

_KINDS: dict[str, type[Collector]] = {
    "kafka": KafkaCollector,
    "jmx": JmxCollector,
    "aliyun_cms": AliyunCmsCollector,
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


def all_metric_specs() -> dict[str, MetricSpec]:
    """Every metric family the exporter can produce (self-metrics included), by exposed name.

    Counters appear under their exposed sample name (`..._total`).
    """
    from exporter.self_metrics import CATALOGUE as SELF_CATALOGUE

    specs = [*SELF_CATALOGUE, *(spec for cls in _KINDS.values() for spec in cls.catalogue)]
    return {(s.name + "_total" if s.type == "counter" else s.name): s for s in specs}

"""Every metric family the exporter can produce, self-metrics included: what the chart's rules,
dashboard and adapter config are checked against."""

from __future__ import annotations

from exporter.collectors.families import MetricSpec
from exporter.collectors.registry import collector_class, kind_names
from exporter.exposition.self_metrics import CATALOGUE as SELF_CATALOGUE


def all_metric_specs() -> dict[str, MetricSpec]:
    """Every family by exposed name (counters under their `..._total` sample name)."""
    kinds = [spec for name in kind_names() for spec in collector_class(name).catalogue]
    return {
        (s.name + "_total" if s.type == "counter" else s.name): s for s in [*SELF_CATALOGUE, *kinds]
    }

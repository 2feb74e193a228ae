"""Every metric family the exporter can produce, self-metrics included: what the chart's rules,
dashboard and adapter config are checked against."""

from __future__ import annotations

from exporter.collectors.families import MetricSpec
from exporter.collectors.registry import collector_class, kind_names
from exporter.exposition.self_metrics import CATALOGUE as SELF_CATALOGUE

_SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
"""The sample names a family is queried by, where they are not the family's own name."""


def all_metric_specs() -> dict[str, MetricSpec]:
    """Every family by the sample names queries use (counters as `..._total`, histograms as
    `..._bucket`, `..._sum` and `..._count`)."""
    kinds = [spec for name in kind_names() for spec in collector_class(name).catalogue]
    return {
        spec.name + suffix: spec
        for spec in [*SELF_CATALOGUE, *kinds]
        for suffix in _SAMPLE_SUFFIXES.get(spec.type, ("",))
    }

"""Metric catalogues: every metric name the exporter can produce, with type, help and labels.

Each collector kind declares its own catalogue next to the code that fills it; the chart's rules,
dashboards and adapter config are checked against `all_metric_specs()` in tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

MetricType = Literal["gauge", "counter"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric family: its name, type, help text and label names (constant labels excluded)."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()

    def family(self, const_labels: dict[str, str] | None = None) -> FamilyBuilder:
        """A builder for this family with `const_labels` added to every sample."""
        return FamilyBuilder(self, const_labels or {})


class FamilyBuilder:
    """Collects samples of one family; label values are given in the spec's label order."""

    def __init__(self, spec: MetricSpec, const_labels: dict[str, str]) -> None:
        self.spec = spec
        names = list(spec.labels) + [k for k in const_labels if k not in spec.labels]
        family_cls = CounterMetricFamily if spec.type == "counter" else GaugeMetricFamily
        self._family: Metric = family_cls(spec.name, spec.help, labels=names)
        self._const = tuple(const_labels[k] for k in names[len(spec.labels) :])

    def add(self, label_values: Sequence[str], value: float) -> None:
        """Add one sample."""
        self._family.add_metric([*label_values, *self._const], value)  # type: ignore[attr-defined]

    def build(self) -> Metric:
        """The finished family (possibly without samples)."""
        return self._family


def build_families(builders: Iterable[FamilyBuilder]) -> list[Metric]:
    """Finished families that have at least one sample."""
    return [b.build() for b in builders if b.build().samples]

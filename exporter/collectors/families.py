"""What collectors emit: `MetricSpec` (a family's name, type, help and labels: each kind's
catalogue lists them next to the code that fills them) and `Family`, the row type of one family.

Families are built as rows (label values + value) rather than prometheus_client `Sample` objects:
with tens of thousands of series per refresh, `Sample`s and their label dicts dominate both the
conversion time and the memory of a snapshot. The exposition renders rows directly; `samples`
still gives prometheus_client objects on demand (tests, foreign writers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client.core import Metric
from prometheus_client.samples import Sample

MetricType = Literal["gauge", "counter", "histogram"]
"""A histogram's family is a prometheus_client HistogramMetricFamily (its `_bucket`, `_sum`,
`_count` samples), never a row `Family`."""


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


class Family(Metric):
    """A finished metric family whose samples are kept as rows.

    `rows[i]` holds the values of `spec.labels` (in that order) of sample i and `values[i]` its
    value; `const_names`/`const_values` are the constant labels every sample also carries.
    """

    def __init__(
        self,
        spec: MetricSpec,
        const_names: tuple[str, ...],
        const_values: tuple[str, ...],
        rows: list[tuple[str, ...]],
        values: list[float],
    ) -> None:
        super().__init__(spec.name, spec.help, spec.type)
        self.spec = spec
        self.sample_name = spec.name + "_total" if spec.type == "counter" else spec.name
        self.label_names = spec.labels + const_names
        self.const_values = const_values
        self.rows = rows
        self.values = values

    @property
    def samples(self) -> list[Sample]:
        """prometheus_client samples, made on each access (not kept: they are large)."""
        names, const, name = self.label_names, self.const_values, self.sample_name
        return [
            Sample(name, dict(zip(names, (*row, *const), strict=True)), value, None)
            for row, value in zip(self.rows, self.values, strict=True)
        ]

    @samples.setter
    def samples(self, value: list[Sample]) -> None:
        if value:  # Metric.__init__ assigns an empty list; rows are the storage
            raise TypeError("a Family's samples are its rows; use FamilyBuilder.add")

    def __len__(self) -> int:
        return len(self.values)


class FamilyBuilder:
    """Collects samples of one family; label values are given in the spec's label order."""

    def __init__(self, spec: MetricSpec, const_labels: dict[str, str]) -> None:
        self.spec = spec
        const_names = tuple(k for k in const_labels if k not in spec.labels)
        self._const_names = const_names
        self._const_values = tuple(const_labels[k] for k in const_names)
        self._rows: list[tuple[str, ...]] = []
        self._values: list[float] = []

    def add(self, label_values: Sequence[str], value: float) -> None:
        """Add one sample."""
        self._rows.append(tuple(label_values))  # a tuple is kept as it is
        self._values.append(value)

    def appenders(self) -> tuple[Callable[[tuple[str, ...]], object], Callable[[float], object]]:
        """`add` as two list appends, for loops over every lag series: call both, the row (a
        tuple of the spec's label values, kept as it is) and then its value."""
        return self._rows.append, self._values.append

    def add_state(self, label_values: Sequence[str], states: Sequence[str], current: str) -> None:
        """Add a StateSet: one sample per state (its name is the last label, after
        `label_values`), 1 for `current` and 0 for the others; a `current` that is not one of
        `states` gets its series after them."""
        names = states if current in states else (*states, current)
        for name in names:
            self.add((*label_values, name), 1.0 if name == current else 0.0)

    def build(self) -> Family:
        """The finished family (possibly without samples)."""
        return Family(self.spec, self._const_names, self._const_values, self._rows, self._values)

    def __len__(self) -> int:
        return len(self._values)


def build_families(builders: Iterable[FamilyBuilder]) -> list[Metric]:
    """Finished families that have at least one sample."""
    return [b.build() for b in builders if len(b)]

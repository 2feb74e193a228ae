"""Checks across the collector entries of one file, for what would break or duplicate the page:
a configured metric name (jmx `beans[].name`, aliyun_cms `metrics[].name`) that is a family the
exporter already exposes or that an entry of another kind names too (two HELP/TYPE blocks, or
one family with two shapes: Prometheus rejects the scrape), and two kafka collectors reporting
the same `cluster` with the same constant labels (every series twice).

Entries of one kind may name the same family (two JVMs exporting the same bean gauge): those
share the family's shape, and the page merges them under one header.
"""

from __future__ import annotations

from collections.abc import Sequence

from exporter.collectors.base import EXPORTER_FAMILY_NAMES, CollectorConfig
from exporter.collectors.registry import config_model, kind_names
from exporter.schema.errors import key_path


def exposed_family_names() -> frozenset[str]:
    """Every family name the exporter itself exposes: self-metrics, process/platform, and each
    kind's catalogue (counters also under `..._total`)."""
    names = set(EXPORTER_FAMILY_NAMES)
    for kind in kind_names():
        model = config_model(kind)
        if model is not None:
            names |= model.family_names
    return frozenset(names)


def check_collectors(entries: Sequence[tuple[int, CollectorConfig]]) -> list[str]:
    """Problems across the validated `(index, entry)` pairs of one file."""
    return _check_named_families(entries) + _check_clusters(entries)


def _check_named_families(entries: Sequence[tuple[int, CollectorConfig]]) -> list[str]:
    problems: list[str] = []
    exposed = exposed_family_names()
    first: dict[str, tuple[str, str]] = {}  # family name -> (kind, key path of its first use)
    for index, entry in entries:
        for path, name in entry.named_families():
            where = key_path(("collectors", index, *path))
            if name in exposed:
                problems.append(
                    f"{where}: invalid value {name!r}: the exporter already exposes this family"
                )
                continue
            kind, other = first.setdefault(name, (entry.type, where))
            if kind != entry.type:
                problems.append(
                    f"{where}: invalid value {name!r}: a {kind} collector already produces "
                    f"this family (also {other})"
                )
    return problems


def _check_clusters(entries: Sequence[tuple[int, CollectorConfig]]) -> list[str]:
    problems: list[str] = []
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for index, entry in entries:
        cluster = getattr(entry, "cluster_label", None)
        if entry.type != "kafka" or not isinstance(cluster, str):
            continue
        key = (cluster, tuple(sorted(entry.labels.items())))
        other = seen.setdefault(key, index)
        if other != index:
            how = (
                ""
                if getattr(entry, "cluster", None)
                else " (the collector name, as cluster is unset)"
            )
            problems.append(
                f"collectors[{index}].cluster: invalid value {cluster!r}{how}: another kafka "
                f"collector reports this cluster with the same labels, so every series would "
                f"appear twice (also collectors[{other}]); set a distinct cluster"
            )
    return problems

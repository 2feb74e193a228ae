"""Label blocks shared between families of one rendering never mix label names."""

from __future__ import annotations

from exporter.collectors.families import MetricSpec, build_families
from exporter.exposition.render import render_families


def test_same_values_under_different_label_names_keep_their_names() -> None:
    by_cluster = MetricSpec("a", "gauge", "by cluster", ("cluster",)).family()
    by_collector = MetricSpec("b", "gauge", "by collector", ("collector",)).family()
    by_cluster.add(("auto",), 1)
    by_collector.add(("auto",), 2)
    text = b"".join(f.samples for f in render_families(build_families([by_cluster, by_collector])))
    assert b'a{cluster="auto"} 1.0\n' in text
    assert b'b{collector="auto"} 2.0\n' in text

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


def test_rows_appended_through_appenders_render_as_rows_added() -> None:
    from exporter.collectors.families import MetricSpec

    spec = MetricSpec("lag", "gauge", "lag", ("consumergroup", "partition"))
    added, appended = spec.family({"cluster": "c"}), spec.family({"cluster": "c"})
    row, value = appended.appenders()
    for index in range(3):
        added.add([f"g{index}", "0"], index * 1.5)
        row((f"g{index}", "0"))
        value(index * 1.5)
    assert len(appended) == 3
    texts = [
        b"".join(f.samples for f in render_families(build_families([b]))) for b in (added, appended)
    ]
    assert texts[0] == texts[1]
    assert b'lag{cluster="c",consumergroup="g2",partition="0"} 3.0\n' in texts[1]

"""Constant `labels` that clash with a label the kind's metrics carry are config errors, for
every kind and every label of its catalogue, naming the file, the key and the value (before,
`labels: {cluster: prod}` on a kafka collector was accepted and silently lost to the metric's
own `cluster`)."""

from __future__ import annotations

import pytest

from exporter.collectors.registry import collector_class, config_model, kind_names
from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError

ENTRIES = {
    "kafka": "{name: k, type: kafka, bootstrap_servers: 'k:9092'",
    "jmx": "{name: k, type: jmx, port: 9999",
    "aliyun_cms": "{name: k, type: aliyun_cms, region_id: cn-hangzhou, access_key_id: i,"
    " access_key_secret: s, instance_ids: [i-1]",
}


def _catalogue_labels(kind: str) -> list[str]:
    labels = {name for spec in collector_class(kind).catalogue for name in spec.labels}
    return sorted(labels | {"collector", "type"})


CASES = [(kind, label) for kind in sorted(ENTRIES) for label in _catalogue_labels(kind)]


def test_every_kind_is_covered() -> None:
    assert sorted(ENTRIES) == kind_names()


def _problems(kind: str, labels: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(f"collectors:\n  - {ENTRIES[kind]}, labels: {labels}}}\n", "c.yaml", {})
    assert str(info.value).startswith("c.yaml: ")  # the file is named
    return info.value.problems


@pytest.mark.parametrize(("kind", "label"), CASES)
def test_a_constant_label_named_like_a_metric_label_is_an_error(kind: str, label: str) -> None:
    problems = _problems(kind, f"{{{label}: prod-x}}")
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        f"collectors[0].labels: label name {label!r} clashes with a label this kind's metrics"
        " already carry: its value 'prod-x' would be lost to the metric's own"
    ), problems[0]


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_other_constant_labels_are_kept(kind: str) -> None:
    config = parse_config(
        f"collectors:\n  - {ENTRIES[kind]}, labels: {{env: prod, team: kafka}}}}\n", "c.yaml", {}
    )
    assert config.collectors[0].labels == {"env": "prod", "team": "kafka"}


def test_kafka_cluster_label_says_what_to_set_instead() -> None:
    (problem,) = _problems("kafka", "{cluster: prod}")
    assert "set the collector's `cluster` key to name the cluster" in problem


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_reserved_labels_match_the_catalogue(kind: str) -> None:
    model = config_model(kind)
    assert model is not None
    assert set(_catalogue_labels(kind)) <= model.reserved_labels

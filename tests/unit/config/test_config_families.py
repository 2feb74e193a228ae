"""Config entries that would break or duplicate the page: a configured metric name that is a
family the exporter already exposes or that an entry of another kind names, and two kafka
collectors reporting the same cluster. Plus the sync of each kind's `family_names` (and the
exporter-wide names) with the catalogues the config path cannot import."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from exporter.collectors.base import EXPORTER_FAMILY_NAMES
from exporter.collectors.families import MetricSpec
from exporter.collectors.registry import collector_class, config_model, kind_names
from exporter.config.loader import parse_config
from exporter.exposition.process_metrics import ProcessMetrics
from exporter.exposition.self_metrics import CATALOGUE as SELF_CATALOGUE
from exporter.schema.errors import ConfigError
from tests.support.exporter_process import run_cli

KAFKA = "{{name: {name}, type: kafka, bootstrap_servers: 'k:9092'{extra}}}"
JMX = "{{name: {name}, type: jmx, port: 9999, beans: [{{object_name: 'a:type=b', attribute: c, name: {bean}}}]}}"
CMS = (
    "{{name: {name}, type: aliyun_cms, region_id: cn-hangzhou, access_key_id: i,"
    " access_key_secret: s, instance_ids: [i-1], metrics: [{{cms_metric: {cms}, name: {metric}}}]}}"
)


def _text(*entries: str) -> str:
    return "collectors:\n" + "".join(f"  - {entry}\n" for entry in entries)


def _problems(*entries: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(_text(*entries), "c.yaml", {})
    assert str(info.value).startswith("c.yaml")
    return info.value.problems


def _one(*entries: str) -> str:
    problems = _problems(*entries)
    assert len(problems) == 1, problems
    return problems[0]


def _sample_names(specs: Iterable[MetricSpec]) -> set[str]:
    return {
        name
        for spec in specs
        for name in ((spec.name, spec.name + "_total") if spec.type == "counter" else (spec.name,))
    }


@pytest.mark.parametrize("kind", ["kafka", "jmx", "aliyun_cms"])
def test_family_names_match_the_catalogue(kind: str) -> None:
    model = config_model(kind)
    assert model is not None
    assert model.family_names == _sample_names(collector_class(kind).catalogue)


def test_exporter_family_names_match_self_and_process_metrics() -> None:
    process = {f.name for f in ProcessMetrics().families()}
    process |= {s.name for f in ProcessMetrics().families() for s in f.samples}
    assert process, "no process families: the sync check would prove nothing"
    assert _sample_names(SELF_CATALOGUE) | process == EXPORTER_FAMILY_NAMES


@pytest.mark.parametrize(
    "name",
    [
        "kafka_health_exporter_collector_up",
        "kafka_health_exporter_config_reloads_total",
        "kafka_health_exporter_config_reloads",
        "process_cpu_seconds_total",
        "process_cpu_seconds",
        "process_open_fds",
        "python_info",
        "kafka_consumergroup_lag",
        "kafka_health_exporter_lag_seconds_pending",
        "kafka_consumer_message_accumulation",
        "aliyun_cms_api_calls_total",
    ],
)
def test_bean_named_like_an_exposed_family(name: str) -> None:
    problem = _one(JMX.format(name="j", bean=name))
    assert problem == (
        f"collectors[0].beans[0].name: invalid value {name!r}: "
        "the exporter already exposes this family"
    )


@pytest.mark.parametrize(
    "name",
    ["process_cpu_seconds_total", "python_info", "kafka_brokers", "kafka_consumergroup_lag"],
)
def test_cms_metric_named_like_an_exposed_family(name: str) -> None:
    problem = _one(CMS.format(name="c", cms="offset_lag", metric=name))
    assert problem == (
        f"collectors[0].metrics[0].name: invalid value {name!r}: "
        "the exporter already exposes this family"
    )


def test_cms_catalogue_name_for_another_cms_metric_is_an_error() -> None:
    problem = _one(
        CMS.format(name="c", cms="offset_lag", metric="kafka_consumer_message_accumulation")
    )
    assert problem.startswith("collectors[0].metrics[0].name: invalid value ")


def test_the_default_cms_metric_and_its_explicit_form_are_fine() -> None:
    default = CMS.format(
        name="c", cms="message_accumulation", metric="kafka_consumer_message_accumulation"
    )
    config = parse_config(_text(default, default.replace("name: c,", "name: d,")), "c.yaml", {})
    assert len(config.collectors) == 2


def test_name_produced_by_an_entry_of_another_kind() -> None:
    jmx = JMX.format(name="j", bean="app_backlog")
    cms = CMS.format(name="c", cms="offset_lag", metric="app_backlog")
    problem = _one(KAFKA.format(name="k", extra=""), jmx, cms)
    assert problem == (
        "collectors[2].metrics[0].name: invalid value 'app_backlog': a jmx collector already "
        "produces this family (also collectors[1].beans[0].name)"
    )


def test_same_bean_name_in_two_jmx_entries_is_one_family() -> None:
    first, second = JMX.format(name="a", bean="app_heap"), JMX.format(name="b", bean="app_heap")
    assert len(parse_config(_text(first, second), "c.yaml", {}).collectors) == 2


def test_two_kafka_collectors_with_the_same_cluster() -> None:
    problem = _one(
        KAFKA.format(name="a", extra=", cluster: prod"),
        KAFKA.format(name="b", extra=""),
        KAFKA.format(name="c", extra=", cluster: prod"),
    )
    assert problem.startswith("collectors[2].cluster: invalid value 'prod': another kafka")
    assert problem.endswith("(also collectors[0]); set a distinct cluster")


def test_a_cluster_equal_to_another_collectors_default() -> None:
    problem = _one(
        KAFKA.format(name="prod", extra=""), KAFKA.format(name="b", extra=", cluster: prod")
    )
    assert problem.startswith("collectors[1].cluster: invalid value 'prod': ")
    assert "(also collectors[0])" in problem
    problem = _one(
        KAFKA.format(name="b", extra=", cluster: prod"), KAFKA.format(name="prod", extra="")
    )
    assert problem.startswith(
        "collectors[1].cluster: invalid value 'prod' (the collector name, as cluster is unset): "
    )


def test_same_cluster_with_different_constant_labels_is_fine() -> None:
    config = parse_config(
        _text(
            KAFKA.format(name="a", extra=", cluster: prod, labels: {dc: east}"),
            KAFKA.format(name="b", extra=", cluster: prod, labels: {dc: west}"),
        ),
        "c.yaml",
        {},
    )
    assert [c.name for c in config.collectors] == ["a", "b"]


def test_every_problem_is_listed_at_once() -> None:
    problems = _problems(
        KAFKA.format(name="a", extra=""),
        KAFKA.format(name="b", extra=", cluster: a"),
        JMX.format(name="j", bean="python_info"),
    )
    assert [p.split(":")[0] for p in problems] == [
        "collectors[2].beans[0].name",
        "collectors[1].cluster",
    ]


def test_kinds_are_all_checked() -> None:
    assert kind_names() == ["aliyun_cms", "jmx", "kafka"]


def test_check_config_rejects_a_page_breaking_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        _text(KAFKA.format(name="k", extra=""), JMX.format(name="j", bean="python_info"))
    )
    result = run_cli("check-config", "-c", str(bad))
    assert result.returncode == 1, result.stderr
    assert (
        f"{bad}: collectors[1].beans[0].name: invalid value 'python_info': "
        "the exporter already exposes this family"
    ) in result.stderr

"""The chart's alert rules with promtool: `check rules`, and `test rules` with a unit test for every
alert firing and not firing (charts/kafka-health-exporter/tests/alerts_test.yaml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.chart_render import CHART, rule_groups, write_rules_file

UNIT_TESTS = CHART / "tests" / "alerts_test.yaml"
LABELS_NAMING_THE_SUBJECT = (
    "consumergroup",
    "sharegroup",
    "consumer_group",
    "target",
    "pod",
    "collector",
    "workload",
    "log_dir",
    "partition_id",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool (Debian package `prometheus`)."""
    exe = shutil.which("promtool")
    assert exe, "promtool not found: apt-get install prometheus"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=False)


def run_unit_tests(
    tmp_path: Path, values: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    """Render the rules with `values`, put the unit tests beside them and run `promtool test rules`."""
    write_rules_file(tmp_path / "rules.yaml", values)
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    return promtool("test", "rules", str(tmp_path / UNIT_TESTS.name))


def alerts(values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Alert name -> rule, as rendered."""
    return {r["alert"]: r for g in rule_groups(values) for r in g["rules"] if "alert" in r}


def test_promtool_check_rules(tmp_path: Path) -> None:
    rules = write_rules_file(tmp_path / "rules.yaml")
    done = promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_unit_tests_pass(tmp_path: Path) -> None:
    done = run_unit_tests(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    suite = yaml.safe_load(UNIT_TESTS.read_text())
    firing: set[str] = set()
    silent: set[str] = set()
    for case in suite["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else silent).add(check["alertname"])
    names = set(alerts())
    assert names == firing, f"not tested firing: {names - firing}; unknown: {firing - names}"
    assert names == silent, f"not tested silent: {names - silent}"


def test_expected_alerts_of_the_issue_exist_with_runbook_descriptions() -> None:
    rendered = alerts()
    assert {
        "KafkaConsumerGroupLagHigh",
        "KafkaShareGroupLagHigh",
        "KafkaConsumerMessageAccumulationHigh",
        "KafkaStreamsAppDead",
        "KafkaStreamsAppRestartLoop",
        "KafkaHealthExporterCollectorDown",
        "KafkaHealthExporterCollectorStale",
        "AliyunCloudMonitorDataStale",
        "KubeWorkloadPodsRestarted",
        "KafkaConsumerGroupNeverCatchesUp",
        "KafkaLogDirUnavailable",
        "KafkaEndToEndProbeFailing",
    } <= set(rendered)
    assert rendered["KafkaConsumerGroupLagHigh"]["for"] == "5m"
    share = rendered["KafkaShareGroupLagHigh"]
    assert share["for"] == "5m" and "> 10000" in share["expr"]
    assert "max by (cluster, sharegroup, topic) (kafka_sharegroup_lag_sum)" in share["expr"]
    assert rendered["KafkaConsumerMessageAccumulationHigh"]["for"] == "2m"
    assert "> 180000" in rendered["KafkaConsumerMessageAccumulationHigh"]["expr"]
    assert rendered["KafkaStreamsAppDead"]["for"] == "5m"
    assert "[30m]" in rendered["KafkaStreamsAppRestartLoop"]["expr"]
    assert "> 300" in rendered["AliyunCloudMonitorDataStale"]["expr"]
    for name, rule in rendered.items():
        annotations = rule["annotations"]
        assert rule["labels"]["severity"], name
        assert len(annotations["description"]) > 80, f"{name}: description is no runbook"
        text = annotations["summary"] + annotations["description"]
        assert any(f"$labels.{label}" in text for label in LABELS_NAMING_THE_SUBJECT), name


def test_thresholds_are_values(tmp_path: Path) -> None:
    values = {
        "prometheusRule": {
            "ruleLabels": {"team": "payments"},
            "alerts": {
                "consumerLag": {"threshold": 25000, "for": "10m"},
                "shareGroupLag": {"threshold": 777, "for": "3m", "severity": "critical"},
                "messageAccumulation": {"threshold": 500000},
                "streamsRestartLoop": {"restarts": 5, "window": "1h"},
                "workloadRestarts": {"enabled": False},
            },
        }
    }
    rendered = alerts(values)
    lag = rendered["KafkaConsumerGroupLagHigh"]
    assert "> 25000" in lag["expr"] and lag["for"] == "10m"
    assert "25000" in lag["annotations"]["description"]
    share = rendered["KafkaShareGroupLagHigh"]
    assert "> 777" in share["expr"] and share["for"] == "3m"
    assert (
        share["labels"]["severity"] == "critical" and "777" in share["annotations"]["description"]
    )
    assert "> 500000" in rendered["KafkaConsumerMessageAccumulationHigh"]["expr"]
    assert ">= 5" in rendered["KafkaStreamsAppRestartLoop"]["expr"]
    assert "[1h]" in rendered["KafkaStreamsAppRestartLoop"]["expr"]
    assert "KubeWorkloadPodsRestarted" not in rendered
    assert all(r["labels"]["team"] == "payments" for r in rendered.values())
    # The unit tests pin the default thresholds: with the lag threshold raised they must fail.
    done = run_unit_tests(
        tmp_path, {"prometheusRule": {"alerts": {"consumerLag": {"threshold": 25000}}}}
    )
    assert done.returncode != 0
    assert "KafkaConsumerGroupLagHigh" in done.stdout + done.stderr


def test_lag_seconds_alert_keeps_firing_across_an_exporter_restart(tmp_path: Path) -> None:
    rule = alerts()["KafkaConsumerGroupLagSecondsHigh"]
    assert rule["keep_firing_for"] == "5m"
    # The unit test of the restart gap depends on it: without keep_firing_for the alert
    # resolves while the series are stale and is pending again after the restart.
    done = run_unit_tests(
        tmp_path, {"prometheusRule": {"alerts": {"consumerLagSeconds": {"keepFiringFor": ""}}}}
    )
    assert done.returncode != 0
    assert "KafkaConsumerGroupLagSecondsHigh" in done.stdout + done.stderr
    assert (
        "keep_firing_for"
        not in alerts(
            {"prometheusRule": {"alerts": {"consumerLagSeconds": {"keepFiringFor": ""}}}}
        )["KafkaConsumerGroupLagSecondsHigh"]
    )

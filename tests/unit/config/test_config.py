"""Config parsing: defaults, env substitution, and an error naming key and value for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.collectors.kafka.config import KafkaConfig
from exporter.config.loader import load_config, parse_config
from exporter.schema.durations import parse_duration
from exporter.schema.errors import ConfigError
from tests.support.config_problems import config_problems
from tests.support.exporter_process import run_cli

ROOT = Path(__file__).resolve().parents[3]
KAFKA = "type: kafka\n    bootstrap_servers: 'k:9092'"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h", 3600), (15, 15), ("2.5", 2.5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5 minutes", "-1s", "0", True, "1x"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_defaults_are_filled_and_overridden() -> None:
    config = parse_config(
        f"""
defaults: {{interval: 20s, timeout: 5s}}
collectors:
  - name: a
    {KAFKA}
  - name: b
    {KAFKA}
    interval: 1m
    stale_after: 10m
    health: true
""",
        env={},
    )
    a, b = config.collectors
    assert isinstance(a, KafkaConfig)
    assert (a.interval, a.timeout, a.stale_after, a.health) == (20, 5, 60, False)
    assert (b.interval, b.timeout, b.stale_after, b.health) == (60, 5, 600, True)
    assert a.cluster_label == "a"
    assert a.bootstrap_servers == ["k:9092"]
    assert config.server.listen == "0.0.0.0:9876"


def test_env_substitution_with_defaults() -> None:
    config = parse_config(
        """
collectors:
  - name: a
    type: kafka
    bootstrap_servers: "${BOOT},${SECOND:-k2:9092}"
    cluster: "${CLUSTER:-}"
""",
        env={"BOOT": "k1:9092"},
    )
    entry = config.collectors[0]
    assert isinstance(entry, KafkaConfig)
    assert entry.bootstrap_servers == ["k1:9092", "k2:9092"]
    assert entry.cluster_label == "a"  # empty cluster falls back to the name


def test_every_problem_is_reported_with_key_and_value() -> None:
    problems = config_problems(
        """
collectors:
  - name: a
    type: kafka
    bootstrap_servers: k:9092
    groups: {include: ["(unclosed"]}
  - name: a2
    type: kafka
    bootstrap_servers: k:9092
    flavour: spicy
  - name: a
    type: kafka
    bootstrap_servers: k:9092
  - name: t
    type: kafka
    bootstrap_servers: k:9092
    interval: 5s
    timeout: 5s
  - name: e
    type: kafka
    bootstrap_servers: k:9092
    sasl_password: ${KAFKA_PASSWORD}
  - name: x
    type: nosuchkind
"""
    )
    text = "\n".join(problems)
    assert "collectors[0].groups.include[0]: invalid value '(unclosed'" in text
    assert "not a valid regular expression" in text
    assert "collectors[1].flavour: unknown key (value 'spicy')" in text
    assert "collectors[2].name: duplicate name 'a' (also collectors[0])" in text
    assert "collectors[3].timeout: invalid value 5s: must be shorter than the interval (5s)" in text
    assert "collectors[4].sasl_password: environment variable KAFKA_PASSWORD is not set" in text
    assert "collectors[5].type: unknown collector type 'nosuchkind'; expected one of:" in text
    assert len(problems) == 6


def test_secrets_are_masked() -> None:
    problems = config_problems(
        f"""
collectors:
  - name: a
    {KAFKA}
    sasl_password: [hunter2]
    security_protocol: SASL_SSL
    sasl_mechanism: PLAIN
    sasl_username: u
"""
    )
    text = "\n".join(problems)
    assert "hunter2" not in text
    assert "collectors[0].sasl_password: invalid value '***'" in text


def test_cross_key_rule_does_not_echo_the_entry() -> None:
    problems = config_problems(
        f"""
collectors:
  - name: a
    {KAFKA}
    security_protocol: SASL_PLAINTEXT
    sasl_username: u
    sasl_password: topsecret
"""
    )
    assert problems == [
        "collectors[0]: sasl_mechanism is required with security_protocol SASL_PLAINTEXT"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "server: {listen: 'nope'}\ncollectors: []",
            "server.listen: invalid value 'nope': expected HOST:PORT",
        ),
        (
            "defaults: {interval: soon}",
            "defaults.interval: invalid value 'soon': expected a duration",
        ),
        ("- just a list", "expected a mapping at the top level"),
        ("collectors: {name: a}", "collectors: expected a list of collectors"),
        ("server: [1", "not valid YAML"),
        (
            f"collectors:\n  - name: 'bad name'\n    {KAFKA}",
            "collectors[0].name: invalid value 'bad name'",
        ),
        (
            f"collectors:\n  - name: a\n    {KAFKA}\n    labels: {{'0x': v}}",
            "collectors[0].labels: label name '0x' is not a valid Prometheus label name",
        ),
        (
            "collectors:\n  - name: a\n    type: kafka\n    bootstrap_servers: 'nohostport'",
            "collectors[0].bootstrap_servers: invalid value 'nohostport'",
        ),
        (
            "collectors:\n  - name: a\n    type: kafka",
            "collectors[0].bootstrap_servers: required key is missing",
        ),
    ],
)
def test_single_errors(text: str, expected: str) -> None:
    assert any(expected in p for p in config_problems(text)), config_problems(text)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml")
    assert str(tmp_path / "absent.yaml") in str(caught.value)


def test_check_config_on_the_example_file() -> None:
    result = run_cli(
        "check-config",
        "-c",
        "config.example.yaml",
        env={
            "KAFKA_USER": "u",
            "KAFKA_PASSWORD": "p",
            "ACCESS_KEY_ID": "id",
            "ACCESS_KEY_SECRET": "secret",
            "REGION_ID": "cn-hangzhou",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "config.example.yaml: OK" in result.stdout
    assert "prod (kafka)" in result.stdout


def test_check_config_errors_exit_1_and_usage_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "collectors:\n  - {name: a, type: kafka, bootstrap_servers: 'k:1', timeout: 1m}\n"
    )
    result = run_cli("check-config", "-c", str(bad))
    assert result.returncode == 1
    assert f"{bad}: collectors[0].timeout: invalid value 60s" in result.stderr
    assert run_cli("check-config").returncode == 2
    assert run_cli("run", "-c", str(bad), "--listen", "nocolon").returncode == 2
    assert run_cli("frobnicate").returncode == 2


def test_config_from_env_var_and_version(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("collectors:\n  - {name: a, type: kafka, bootstrap_servers: 'k:1'}\n")
    result = run_cli("check-config", env={"KHE_CONFIG": str(good)})
    assert result.returncode == 0, result.stderr
    assert "a (kafka): every 30s, timeout 10s" in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("kafka-health-exporter ")


def test_run_with_bad_config_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("collectors:\n  - {name: a, type: kafka, bootstrap_servers: 'k:1', nope: 1}\n")
    result = run_cli("run", "-c", str(bad))
    assert result.returncode == 1
    assert "collectors[0].nope: unknown key (value 1)" in result.stderr


def test_misspelt_secret_keys_are_masked_too() -> None:
    problems = config_problems(
        f"collectors:\n  - name: a\n    {KAFKA}\n    sasl_pasword: hunter2\n    acess_key: abc"
    )
    text = "\n".join(problems)
    assert "hunter2" not in text and "abc" not in text
    assert "collectors[0].sasl_pasword: unknown key (value '***')" in text


def test_unset_timeout_fits_short_intervals_but_an_explicit_one_is_checked() -> None:
    config = parse_config(f"collectors:\n  - name: a\n    {KAFKA}\n    interval: 5s", env={})
    assert config.collectors[0].timeout == 4.0
    problems = config_problems(
        f"defaults: {{timeout: 10s}}\ncollectors:\n  - name: a\n    {KAFKA}\n    interval: 5s"
    )
    assert problems == [
        "collectors[0].timeout: invalid value 10s: must be shorter than the interval (5s)"
    ]


def test_unquoted_off_is_the_method_off_and_other_booleans_are_refused() -> None:
    """YAML 1.1 reads `off` as false; `time_lag: {method: off}` must still mean "off"."""
    config = parse_config(
        f"collectors:\n  - name: a\n    {KAFKA}\n    time_lag: {{method: off}}\n", env={}
    )
    kafka = config.collectors[0]
    assert isinstance(kafka, KafkaConfig)
    assert kafka.time_lag.method == "off"
    problems = config_problems(
        f"collectors:\n  - name: a\n    {KAFKA}\n    time_lag: {{method: on}}\n"
    )
    assert any("collectors[0].time_lag.method" in p and "True" in p for p in problems), problems

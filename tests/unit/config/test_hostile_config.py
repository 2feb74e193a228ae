"""Hostile config input through the real loader (parse_config / load_config): RE2 name filters,
YAML limits, `${...}` forms, secrets in errors, durations, reserved labels, files that must
exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.collectors.registry import collector_class, config_model
from exporter.config.loader import load_config, parse_config
from exporter.schema.errors import ConfigError
from exporter.schema.types import NameFilter
from exporter.schema.yaml_limits import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES
from tests.support.config_problems import config_problems

KAFKA = "{name: k, type: kafka, bootstrap_servers: 'k:9092'"


def _one(text: str, env: dict[str, str] | None = None) -> str:
    problems = config_problems(text, env)
    assert len(problems) == 1, problems
    return problems[0]


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """`w: &w [1]` then `levels` lines each referring `width` times to the previous one."""
    lines = ["w: &w [1]"]
    for i in range(levels):
        previous = "w" if i == 0 else f"x{i - 1}"
        lines.append(f"x{i}: &x{i} [{', '.join([f'*{previous}'] * width)}]")
    return "\n".join(lines) + "\ncollectors: []\n"


def test_catastrophic_patterns_return_at_once() -> None:
    nested = NameFilter(include=["(a+)+$"])
    assert nested.matches("a" * 34 + "!") is False
    assert nested.matches("a" * 34) is True
    prod = NameFilter(include=["([a-z0-9]+-?)+-prod"])
    assert prod.matches("a" * 40) is False
    assert prod.matches("orders-eu-1-prod") is True
    assert NameFilter(include=[]).matches("x") is False
    assert NameFilter(exclude=["^__.*"]).matches("__consumer_offsets") is False


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a).*", "(?<!x)y", r"(?!internal).*"])
def test_patterns_re2_cannot_express_are_errors(pattern: str) -> None:
    text = f"collectors:\n  - {KAFKA}, groups: {{include: ['{pattern}']}}}}\n"
    problem = _one(text)
    assert problem.startswith("collectors[0].groups.include[0]: invalid value ")
    assert repr(pattern) in problem and "not a valid regular expression" in problem


def test_alias_bomb_depth_size_and_recursion_are_rejected() -> None:
    assert "expands to more than" in _one(alias_bomb())
    assert f"deeper than {MAX_DEPTH}" in _one("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "contains it" in _one("a: &a [*a]\ncollectors: []\n")
    assert "contains it" in _one("a: &a {b: *a}\ncollectors: []\n")
    assert "larger than 4 MiB" in _one("#" * (MAX_DOCUMENT_BYTES + 1))
    # just under the expansion limit is fine: aliases are allowed
    small = alias_bomb(levels=2, width=9)
    assert MAX_NODES > 9**3
    assert [p.split(":")[0] for p in config_problems(small)] == [
        "w",
        "x0",
        "x1",
    ]  # parsed: unknown keys


def test_merge_keys_and_anchors_still_work() -> None:
    text = (
        "collectors:\n  - &k {name: a, type: kafka, bootstrap_servers: 'k:9092', interval: 5s}\n"
        "  - {<<: *k, name: b, interval: 7s}\n"
    )
    config = parse_config(text, "c.yaml", {})
    assert [(c.name, c.interval) for c in config.collectors] == [("a", 5.0), ("b", 7.0)]


def test_duplicate_keys_are_errors_naming_the_key() -> None:
    problem = _one(
        "collectors:\n  - name: a\n    type: kafka\n    interval: 5s\n    interval: 6s\n"
    )
    assert "duplicate key 'interval'" in problem and "line 5" in problem


def test_yaml_syntax_error_does_not_quote_a_secret() -> None:
    text = f'collectors:\n  - {KAFKA}}}\n    sasl_password: hunter2: "x\n'
    problem = _one(text)
    assert "hunter2" not in problem and "line 3" in problem


def test_unset_variable_inside_a_secret_is_masked() -> None:
    text = f"collectors:\n  - {KAFKA}, sasl_password: 'S3CRET-${{UNSET}}'}}\n"
    problems = config_problems(text)
    assert not any("S3CRET" in p for p in problems), problems
    assert "collectors[0].sasl_password: environment variable UNSET is not set (value '***')" in (
        problems
    )


def test_nested_secrets_are_masked_in_a_wrong_shape() -> None:
    problem = _one("collectors: {a: {sasl_password: TOPSECRET}}\n")
    assert "TOPSECRET" not in problem and problem.startswith("collectors: expected a list")
    problem = _one("collectors:\n  - [{sasl_password: TOPSECRET}]\n")
    assert "TOPSECRET" not in problem


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("${A_${B}}", "nested ${...}"),
        ("${NOPE", "unterminated ${"),
        ("${}", "empty variable name"),
        ("${A-B}", "invalid variable name 'A-B'"),
    ],
)
def test_malformed_references_are_errors_naming_the_key(value: str, reason: str) -> None:
    problem = _one(f"collectors:\n  - {KAFKA}, cluster: '{value}'}}\n", {"A_": "x", "B": "y"})
    assert problem.startswith("collectors[0].cluster: ") and reason in problem
    assert repr(value) in problem


def test_dollar_dollar_is_a_literal_reference() -> None:
    text = f"collectors:\n  - {KAFKA}, cluster: 'a-$${{X}}-${{Y:-d}}-${{Z}}'}}\n"
    config = parse_config(text, "c.yaml", {"X": "no", "Z": "z"})
    assert config.collectors[0].cluster == "a-${X}-d-z"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("interval: .nan", "collectors[0].interval: invalid value nan: expected a finite duration"),
        ("interval: .inf", "collectors[0].interval: invalid value inf: expected a finite duration"),
        ("interval: 1ms", "collectors[0].interval: invalid value '1ms': must be at least 100ms"),
        ("timeout: .nan", "collectors[0].timeout: invalid value nan: expected a finite duration"),
        ("interval: 10s, stale_after: 5s", "collectors[0].stale_after: invalid value 5s"),
    ],
)
def test_bad_durations(entry: str, problem: str) -> None:
    found = _one(f"collectors:\n  - {KAFKA}, {entry}}}\n")
    assert found.startswith(problem), found


def test_nan_default_interval_is_an_error() -> None:
    problems = config_problems(f"defaults: {{interval: .nan}}\ncollectors:\n  - {KAFKA}}}\n")
    assert problems[0].startswith("defaults.interval: invalid value nan"), problems


@pytest.mark.parametrize(
    ("kind", "label"),
    [("kafka", "topic"), ("kafka", "cluster"), ("kafka", "collector"), ("jmx", "target"),
     ("jmx", "type"), ("aliyun_cms", "collector"), ("aliyun_cms", "instance_id")],
)  # fmt: skip
def test_constant_labels_that_clash_are_errors(kind: str, label: str) -> None:
    entry = {
        "kafka": KAFKA,
        "jmx": "{name: k, type: jmx, port: 9999",
        "aliyun_cms": "{name: k, type: aliyun_cms, region_id: cn-hangzhou, access_key_id: i,"
        " access_key_secret: s, instance_ids: [i-1]",
    }[kind]
    problem = _one(f"collectors:\n  - {entry}, labels: {{{label}: x}}}}\n")
    assert problem.startswith("collectors[0].labels: label name ") and repr(label) in problem


@pytest.mark.parametrize("kind", ["kafka", "jmx", "aliyun_cms"])
def test_reserved_labels_cover_the_catalogue(kind: str) -> None:
    model = config_model(kind)
    assert model is not None
    catalogue = {name for spec in collector_class(kind).catalogue for name in spec.labels}
    assert catalogue | {"collector", "type"} <= model.reserved_labels


@pytest.mark.parametrize("port", ["99999", "0"])
def test_bootstrap_ports_out_of_range(port: str) -> None:
    problem = _one(f"collectors:\n  - {{name: k, type: kafka, bootstrap_servers: 'k:{port}'}}\n")
    assert problem.startswith("collectors[0].bootstrap_servers: invalid value")
    assert f"k:{port}" in problem


def test_missing_tls_files_are_errors(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    text = (
        f"collectors:\n  - {KAFKA}, security_protocol: SSL, ssl_cafile: '{ca}',"
        f" ssl_certfile: '{tmp_path}/no-cert.pem', ssl_keyfile: '{tmp_path}/no-key.pem'}}\n"
    )
    problems = config_problems(text)
    assert [p.split(":")[0] for p in problems] == [
        "collectors[0].ssl_certfile",
        "collectors[0].ssl_keyfile",
    ]
    assert f"'{tmp_path}/no-cert.pem'" in problems[0] and "no such file" in problems[0]


def test_unauthenticated_paths_with_wildcards_or_queries(tmp_path: Path) -> None:
    for path in ("/metrics?x=1", "/live*"):
        problem = _one(
            f"server: {{unauthenticated_paths: ['/ready', '{path}']}}\ncollectors:\n  - {KAFKA}}}\n"
        )
        assert problem.startswith("server.unauthenticated_paths: invalid value") and path in problem


@pytest.mark.parametrize(
    "content",
    [b"collectors: [caf\xe9]\n", "collectors: []\n".encode("utf-16"), bytes(range(256))],
    ids=["latin-1", "utf-16", "binary"],
)
def test_files_that_are_not_utf8_text(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert len(info.value.problems) == 1
    assert "not UTF-8" in info.value.problems[0] or "not text" in info.value.problems[0]

"""What a user reads for the usual first mistakes: pydantic's findings in plain words, strict
booleans, "did you mean" for misspelt keys at every depth, one error per unset `${VAR}`."""

from __future__ import annotations

import pytest

from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError
from exporter.web.config import parse_web_config
from tests.support.config_problems import config_problems

KAFKA = "collectors: [{name: k, type: kafka, bootstrap_servers: 'k:9092', "


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("max_concurrency: many}]", "invalid value 'many': expected a whole number, got text"),
        ("max_concurrency: 1.5}]", "invalid value 1.5: expected a whole number, not a fraction"),
        ("max_concurrency: 0}]", "invalid value 0: expected at least 1"),
        ("max_concurrency: 1000}]", "invalid value 1000: expected at most 256"),
        ("cluster: 42}]", "invalid value 42: expected text, got a number (quote it: '42')"),
        ("groups: [a]}]", "invalid value ['a']: expected a mapping (`key: value` lines"),
        ("groups: {include: a}}]", "invalid value 'a': expected a list (`- item` lines"),
        ("granularity: group}]", "invalid value 'group': expected one of 'partition' or 'topic'"),
        ("topic_metrics: 'yes'}]", "expected true or false (unquoted), got text (quoted)"),
        ("topic_metrics: 'on'}]", "expected true or false (unquoted), got text (quoted)"),
        ("health: 0}]", "invalid value 0: expected true or false (unquoted), got a number"),
        ("time_lag: {metod: auto}}]", "unknown key (value 'auto'); did you mean 'method'?"),
        ("groups: {only_activ: true}}]", "unknown key (value True); did you mean 'only_active'?"),
        ("Topic_Metrics: false}]", "unknown key (value False); did you mean 'topic_metrics'?"),
        ("e2e_probe: {intreval: 1s}}]", "unknown key (value '1s'); did you mean 'interval'?"),
        ("xyzzy: 1}]", "unknown key (value 1)"),
    ],
)
def test_plain_words(entry: str, expected: str) -> None:
    (problem,) = config_problems(KAFKA + entry)
    assert expected in problem, problem
    assert "Input should" not in problem and "valid string" not in problem
    if "unknown key (value 1)" in expected:
        assert "did you mean" not in problem


def test_top_level_and_server_typos_name_the_key_meant() -> None:
    assert config_problems("servr: {}\ncollectors: []\n") == [
        "servr: unknown key (value {}); did you mean 'server'?"
    ]
    assert config_problems("server: {listne: ':1'}\ncollectors: []\n") == [
        "server.listne: unknown key (value ':1'); did you mean 'listen'?"
    ]


def test_booleans_from_the_environment_are_true_or_false_text() -> None:
    text = KAFKA + "topic_metrics: '${TM}', health: '${H:-false}'}]"
    config = parse_config(text, "c.yaml", {"TM": "False"})
    entry = config.collectors[0]
    assert entry.topic_metrics is False and entry.health is False  # type: ignore[attr-defined]
    (problem,) = config_problems(text, {"TM": "1"})
    assert problem.startswith("collectors[0].topic_metrics: invalid value '1': expected true")


def test_an_unset_variable_is_one_error_with_no_cascade() -> None:
    text = (
        "server: {listen: '${LISTEN}'}\n"
        "collectors: [{name: k, type: '${KIND}'}, {name: m, type: kafka, "
        "bootstrap_servers: '${BROKERS}', ssl_cafile: '${CA}'}]\n"
    )
    assert config_problems(text) == [
        "server.listen: environment variable LISTEN is not set (value '${LISTEN}')",
        "collectors[0].type: environment variable KIND is not set (value '${KIND}')",
        "collectors[1].bootstrap_servers: environment variable BROKERS is not set "
        "(value '${BROKERS}')",
        "collectors[1].ssl_cafile: environment variable CA is not set (value '${CA}')",
    ]


def test_web_config_typos_and_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_web_config(
            "tls_server_confg: {}\nbasic_auth_users: {a: plain}\n"
            "http_server_config: {http2: 'no'}\n",
            "web.yml",
        )
    problems = info.value.problems
    assert "tls_server_confg: unknown key (value {}); did you mean 'tls_server_config'?" in problems
    assert any(
        p.startswith("http_server_config.http2: invalid value 'no': expected true")
        for p in problems
    )
    assert any(
        p.startswith("basic_auth_users.a: invalid value '***': expected a bcrypt") for p in problems
    )
    assert "plain" not in "\n".join(problems)

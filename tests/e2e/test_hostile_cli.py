"""`check-config` (the real CLI, a subprocess) on hostile files: it exits 1 quickly with one clear
line per problem, never a traceback, never a secret; and it catches what would fail at run time
(ports, TLS files, labels that clash, durations)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.exporter_process import run_cli
from tests.unit.config.test_hostile_config import alias_bomb

KAFKA = "{name: k, type: kafka, bootstrap_servers: 'k:9092'"


def _check(path: Path, env: dict[str, str] | None = None) -> tuple[int, list[str], float]:
    started = time.monotonic()
    result = run_cli("check-config", "-c", str(path), env=env)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    lines = result.stderr.splitlines()
    if result.returncode == 1:
        assert lines[0] == f"invalid config {lines[1].split(': ')[0].strip()}:", output
    return result.returncode, [line.strip() for line in lines[1:]], elapsed


def test_alias_bomb_exits_1_quickly_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    code, problems, elapsed = _check(path)
    assert code == 1
    assert problems == [
        f"{path}: YAML document rejected: expands to more than 100000 nodes through aliases "
        "(an alias bomb?)"
    ]
    assert elapsed < 10, elapsed  # mostly interpreter start; before the fix: memory exhaustion


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"collectors: [{name: caf\xe9}]\n", "the file is not UTF-8 text: byte 0xe9 at offset 23"),
        (bytes(range(256)) * 4, "the file is not text: NUL byte at offset 0"),
        ("collectors: []\n".encode("utf-16"), "the file is not text: NUL byte at offset 3"),
        (b"a: &a [*a]\ncollectors: []\n", "an alias refers to a node that contains it (line 1)"),
        (b"a: " + b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels (line 1)"),
        (b"#" * (4 * 1024 * 1024 + 1), "the file is larger than 4 MiB"),
    ],
    ids=["latin-1", "binary", "utf-16", "self-alias", "deep", "huge"],
)
def test_unreadable_documents_give_one_clear_error(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    code, problems, _ = _check(path)
    assert code == 1 and len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: ") and problem in problems[0], problems


def test_secrets_are_never_echoed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f'collectors:\n  - {KAFKA}}}\n    sasl_password: hunter2: "x\n')
    code, problems, _ = _check(path)
    assert code == 1 and len(problems) == 1 and "hunter2" not in problems[0], problems
    assert "line 3, column" in problems[0]
    path.write_text(f"collectors:\n  - {KAFKA}, sasl_password: 'S3CRET-${{UNSET}}'}}\n")
    code, problems, _ = _check(path)
    assert code == 1 and not any("S3CRET" in p for p in problems), problems
    unset = "collectors[0].sasl_password: environment variable UNSET is not set (value '***')"
    assert f"{path}: {unset}" in problems


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            "bootstrap_servers: 'k:99999'",
            "collectors[0].bootstrap_servers: invalid value 'k:99999': expected HOST:PORT (a port from 1 to 65535)",
        ),
        (
            "bootstrap_servers: 'k:0'",
            "collectors[0].bootstrap_servers: invalid value 'k:0': expected HOST:PORT",
        ),
        (
            "ssl_cafile: /no/ca.pem",
            "collectors[0].ssl_cafile: invalid value '/no/ca.pem': no such file",
        ),
        (
            "ssl_certfile: /no/c.pem",
            "collectors[0].ssl_certfile: invalid value '/no/c.pem': no such file",
        ),
        (
            "ssl_keyfile: /no/k.pem",
            "collectors[0].ssl_keyfile: invalid value '/no/k.pem': no such file",
        ),
        ("interval: 1ms", "collectors[0].interval: invalid value '1ms': must be at least 100ms"),
        ("interval: .nan", "collectors[0].interval: invalid value nan: expected a finite duration"),
        ("interval: .inf", "collectors[0].interval: invalid value inf: expected a finite duration"),
        (
            "stale_after: 1s, interval: 5s",
            "collectors[0].stale_after: invalid value 1s: must not be shorter than the interval (5s)",
        ),
        ("labels: {topic: x}", "collectors[0].labels: label name 'topic' clashes"),
        ("labels: {collector: x}", "collectors[0].labels: label name 'collector' clashes"),
        (
            "cluster: '${A_${B}}'",
            "collectors[0].cluster: nested ${...} references are not supported",
        ),
        ("cluster: '${NOPE'", "collectors[0].cluster: unterminated ${ (no closing })"),
        ("cluster: '${}'", "collectors[0].cluster: empty variable name in ${}"),
        (
            "groups: {include: ['(a)\\1']}",
            "collectors[0].groups.include[0]: invalid value '(a)\\\\1': not a valid regular expression",
        ),
        (
            "topics: {exclude: ['(?!x).*']}",
            "collectors[0].topics.exclude[0]: invalid value '(?!x).*'",
        ),
    ],
)
def test_run_time_failures_are_caught(tmp_path: Path, entry: str, problem: str) -> None:
    path = tmp_path / "c.yaml"
    base = "{name: k, type: kafka" if entry.startswith("bootstrap") else KAFKA
    path.write_text(f"collectors:\n  - {base}, {entry}}}\n")
    code, problems, _ = _check(path, {"A_": "a", "B": "b"})
    assert code == 1 and len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: {problem}"), problems


def test_dollar_escape_and_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"collectors:\n  - {KAFKA}, cluster: '$${{X}}'}}\n")
    result = run_cli("check-config", "-c", str(path))
    assert result.returncode == 0 and "cluster '${X}'" in result.stdout, result
    path.write_text("collectors:\n  - name: a\n    name: b\n    type: kafka\n")
    code, problems, _ = _check(path)
    assert code == 1
    assert problems == [
        f"{path}: YAML document rejected: duplicate key 'name' (line 3, first at line 2)"
    ]


@pytest.mark.parametrize(
    ("web", "server", "problem"),
    [
        ("tls_server_config: {cert_file: a.crt, key_file: a.key, min_version: TLS10}", "",
         "tls_server_config.min_version: invalid value 'TLS10'"),
        ("tls_server_config: {cert_file: a.crt, key_file: a.key, min_version: TLS11}", "",
         "tls_server_config.min_version: invalid value 'TLS11'"),
        ("tls_server_config: {cert_file: no.crt, key_file: no.key}", "",
         "tls_server_config.cert_file: cannot read"),
        ("", ", unauthenticated_paths: ['/live', '/metrics?x']",
         "server.unauthenticated_paths: invalid value"),
        ("", ", unauthenticated_paths: ['/*']", "server.unauthenticated_paths: invalid value"),
    ],
)  # fmt: skip
def test_web_config_problems(tmp_path: Path, web: str, server: str, problem: str) -> None:
    (tmp_path / "web.yml").write_text(web + "\n")
    path = tmp_path / "c.yaml"
    path.write_text(f"server: {{web_config_file: web.yml{server}}}\ncollectors:\n  - {KAFKA}}}\n")
    code, problems, _ = _check(path)
    assert code == 1 and problems, problems
    assert problem in problems[0], problems


def test_every_problem_of_both_files_in_one_run_in_plain_words(tmp_path: Path) -> None:
    """A newcomer's first config, five kinds of mistake at once: a missing `${VAR}` (one error,
    not a second one about the empty value), `listen: 9876`, quoted and numeric booleans, key
    typos (with the key meant), and a web config with its own problems, all in one run."""
    (tmp_path / "web.yml").write_text(
        "basic_auth_users: {admin: notahash}\ntls_server_config: {cert_file: a.crt}\n"
    )
    path = tmp_path / "c.yaml"
    path.write_text(
        "server: {listen: 9876, web_config_file: web.yml}\n"
        "collectors:\n"
        "  - {name: k, type: kafka, bootstrap_servers: '${KHE_TEST_UNSET_BROKERS}',\n"
        "     topic_metrics: 'yes', health: 1, grups: {include: ['.*']}}\n"
        "  - {name: j, type: jmx, url: 'service:jmx:rmi:///jndi/rmi://h:1/jmxrmi', intervall: 5s}\n"
        "  - {name: c, type: kafak}\n"
    )
    code, problems, _ = _check(path)
    assert code == 1
    web = tmp_path / "web.yml"
    assert problems == [
        f"{path}: collectors[0].bootstrap_servers: environment variable KHE_TEST_UNSET_BROKERS "
        "is not set (value '${KHE_TEST_UNSET_BROKERS}')",
        f"{path}: server.listen: invalid value 9876: expected HOST:PORT as text, e.g. ':9876' "
        "(every interface) or '127.0.0.1:9876'",
        f"{path}: collectors[0].health: invalid value 1: expected true or false (unquoted), "
        "got a number",
        f"{path}: collectors[0].topic_metrics: invalid value 'yes': expected true or false "
        "(unquoted), got text (quoted)",
        f"{path}: collectors[0].grups: unknown key (value {{'include': ['.*']}}); "
        "did you mean 'groups'?",
        f"{path}: collectors[1].url: unknown key "
        "(value 'service:jmx:rmi:///jndi/rmi://h:1/jmxrmi'); did you mean 'service_url'?",
        f"{path}: collectors[1].intervall: unknown key (value '5s'); did you mean 'interval'?",
        f"{path}: collectors[2].type: unknown collector type 'kafak'; did you mean 'kafka'? "
        "expected one of: aliyun_cms, jmx, kafka",
        f"{web.resolve()}: basic_auth_users.admin: invalid value '***': expected a bcrypt hash "
        "like $2y$10$... (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')",
        f"{web.resolve()}: tls_server_config.key_file: required key is missing (TLS needs a key)",
    ]

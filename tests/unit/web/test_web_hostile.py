"""Hostile web-config.yml input: TLS versions Python's ssl cannot do, YAML limits, secrets in
syntax errors, files that are not UTF-8 text."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from exporter.schema.errors import ConfigError
from exporter.web.config import parse_web_config
from exporter.web.loader import load_web_config


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_web_config(text, "web.yml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("key", "version"),
    [("min_version", "TLS10"), ("min_version", "TLS11"), ("max_version", "TLS11")],
)
def test_tls_versions_openssl_refuses_are_errors(key: str, version: str) -> None:
    problems = _problems(f"tls_server_config: {{cert_file: a, key_file: b, {key}: {version}}}\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"tls_server_config.{key}: invalid value {version!r}")
    assert "TLS12 or TLS13" in problems[0]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls10_and_11_really_cannot_handshake_here(version: ssl.TLSVersion) -> None:
    """Why they are rejected: this OpenSSL offers no cipher suite for them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with pytest.warns(DeprecationWarning):
        context.minimum_version = context.maximum_version = version
    connection = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    with pytest.raises(ssl.SSLError, match="NO_CIPHERS_AVAILABLE"):
        connection.do_handshake()


def test_alias_bomb_and_duplicate_keys_in_the_web_config() -> None:
    lines = ["w: &w [1]"] + [
        f"x{i}: &x{i} [{', '.join(['*w' if i == 0 else f'*x{i - 1}'] * 9)}]" for i in range(9)
    ]
    problems = _problems("\n".join(lines) + "\n")
    assert len(problems) == 1 and "expands to more than" in problems[0]
    problems = _problems("basic_auth_users: {a: x}\nbasic_auth_users: {b: y}\n")
    assert problems == [
        "YAML document rejected: duplicate key 'basic_auth_users' (line 2, first at line 1)"
    ]


def test_a_syntax_error_does_not_quote_a_password_hash() -> None:
    problems = _problems('basic_auth_users:\n  alice: $2y$10$SECRETHASH: "x\n')
    assert len(problems) == 1 and "SECRETHASH" not in problems[0] and "line 2" in problems[0]


@pytest.mark.parametrize(
    "content", [b"\xff\xfe\x00garbage", "tls_server_config: {}\n".encode("utf-16-le"), b"\x80"]
)
def test_web_config_files_that_are_not_utf8(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "web.yml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("the web config file is not")

"""Unit tests of the jmx collector's config: defaults, credentials from the environment, errors
naming key and value, a masked password; and the targets `probe --jmx` accepts."""

from __future__ import annotations

import pytest

from exporter.cli.probe_jmx import jmx_url
from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError
from tests.support.jmx_inputs import parse_jmx_config


def _problems(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml", env or {})
    return str(info.value)


def test_config_defaults_and_env_credentials() -> None:
    entry = parse_jmx_config(
        "collectors:\n"
        "  - {name: orders, type: jmx, port: 5555,"
        " username: '${JMX_USER:-}', password: '${JMX_PASSWORD:-}'}\n"
    )
    assert (entry.interval, entry.timeout, entry.health) == (15.0, 10.0, True)
    assert entry.unreachable_grace == 60.0
    assert entry.username is None and entry.password is None
    assert entry.url == "service:jmx:rmi:///jndi/rmi://127.0.0.1:5555/jmxrmi"
    with_auth = parse_jmx_config(
        "collectors:\n  - {name: o, type: jmx, host: app, port: 7, username: '${U}',"
        " password: '${P}', unreachable_grace: 2m, health: false}\n",
        {"U": "monitor", "P": "s3cret"},
    )
    assert (with_auth.username, with_auth.password, with_auth.health) == (
        "monitor",
        "s3cret",
        False,
    )
    assert with_auth.unreachable_grace == 120.0
    assert "s3cret" not in with_auth.summary()
    url = "service:jmx:rmi:///jndi/rmi://h:9/jmxrmi"
    assert (
        parse_jmx_config(f"collectors:\n  - {{name: o, type: jmx, service_url: '{url}'}}\n").url
        == url
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{name: o, type: jmx}", "set port (with host) or service_url"),
        (
            "{name: o, type: jmx, port: 1, service_url: 'service:jmx:rmi:///x'}",
            "not both",
        ),
        ("{name: o, type: jmx, port: 70000}", "collectors[0].port: invalid value 70000"),
        ("{name: o, type: jmx, service_url: 'rmi://h:1'}", "collectors[0].service_url"),
        ("{name: o, type: jmx, port: 1, password: 'pw'}", "password is set but username is not"),
        ("{name: o, type: jmx, port: 1, unreachable_grace: soon}", "unreachable_grace"),
        ("{name: o, type: jmx, port: 1, jmx_port: 2}", "collectors[0].jmx_port: unknown key"),
        (
            "{name: o, type: jmx, port: 1, beans: [{object_name: 'a:type=*', attribute: x,"
            " name: y}]}",
            "collectors[0].beans[0].object_name: invalid value 'a:type=*'",
        ),
        (
            "{name: o, type: jmx, port: 1, beans: [{object_name: 'a:type=b', attribute: x,"
            " name: 'bad name'}]}",
            "collectors[0].beans[0].name",
        ),
        (
            "{name: o, type: jmx, port: 1, beans: [{object_name: 'a:type=b', attribute: x,"
            " name: kafka_streams_alive}]}",
            "reserved prefix",
        ),
        (
            "{name: o, type: jmx, port: 1, interval: 5s, timeout: 5s}",
            "must be shorter than the interval",
        ),
    ],
)
def test_config_errors_name_key_and_value(entry: str, expected: str) -> None:
    message = _problems(f"collectors:\n  - {entry}\n")
    assert "test.yaml" in message and expected in message, message


def test_password_is_masked_in_errors() -> None:
    message = _problems("collectors:\n  - {name: o, type: jmx, port: 1, password: hunter2}\n")
    assert "hunter2" not in message


def test_probe_targets() -> None:
    assert jmx_url("10.0.0.1:5555") == "service:jmx:rmi:///jndi/rmi://10.0.0.1:5555/jmxrmi"
    assert jmx_url("service:jmx:rmi:///jndi/rmi://h:1/jmxrmi").endswith("h:1/jmxrmi")
    with pytest.raises(ValueError, match="HOST:PORT"):
        jmx_url("localhost")

"""Property-based fuzzing of the config loader (parse_config) and the web-config loader
(parse_web_config): random YAML-ish text and random structured documents either give a config or
raise ConfigError (never another exception, never a hang: hypothesis' deadline), and an error
never shows a value given under a secret key.

The default suite runs a short pass; `pytest -m fuzz` runs the long one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError
from exporter.web.config import parse_web_config

SECRET = "Zq7SECRETv4x"
SHORT = settings(  # the default suite: the same 200 inputs every run (CI stays reproducible)
    max_examples=200,
    derandomize=True,
    deadline=timedelta(seconds=5),  # far above the ~30ms an input takes: only a hang trips it
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG = settings(SHORT, max_examples=5000, derandomize=False)
_SECRET_KEY = re.compile(r"password|secret|token|access_key", re.IGNORECASE)
ENV = {"A": "x", "B": "", "KAFKA_PASSWORD": "pw"}

CONFIG_KEYS = (  # noqa: SIM905
    "server listen web_config_file unauthenticated_paths defaults interval timeout "
    "collectors name type bootstrap_servers groups topics include exclude only_active "
    "labels stale_after health cluster security_protocol sasl_mechanism sasl_username "
    "ssl_cafile ssl_check_hostname max_concurrency topic_metrics time_lag status port "
    "host service_url username beans object_name attribute key region_id instance_ids "
    "metrics endpoint page_size x"
).split()
SECRET_KEYS = ("sasl_password", "password", "access_key_secret", "token")
WEB_KEYS = (  # noqa: SIM905
    "tls_server_config http_server_config rate_limit cert_file key_file cert client_ca "
    "client_ca_file client_auth_type client_allowed_sans min_version max_version "
    "cipher_suites prefer_server_cipher_suites curve_preferences headers http2 interval "
    "burst x"
).split()
WORDS = (  # noqa: SIM905
    "kafka jmx aliyun_cms k:9092 k:99999 k:0 [::1]:9092 1ms 100ms 30s .nan .inf -1 0 "
    "(a+)+$ (?=x) \\1 .* ^__.* ${A} ${B:-d} ${NOPE ${} ${A_${B}} $${X} SASL_SSL PLAIN "
    "TLS10 TLS12 /live /m?x /a* RequireAndVerifyClientCert X-Frame-Options deny"
).split()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)


_TREES: dict[tuple[str, ...], st.SearchStrategy[Any]] = {}


def _secret_value() -> st.SearchStrategy[Any]:
    return st.sampled_from([SECRET, f"{SECRET}-${{UNSET}}", f"{SECRET}${{", [SECRET], {"a": 1}])


def _mappings(keys: list[str], children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    plain = st.dictionaries(st.sampled_from(keys), children, max_size=6)
    secrets = st.dictionaries(st.sampled_from(SECRET_KEYS), _secret_value(), max_size=1)
    return st.builds(lambda a, b: {**a, **b}, plain, secrets)


def _tree(keys: list[str]) -> st.SearchStrategy[Any]:
    return _TREES.setdefault(tuple(keys), _new_tree(keys))


def _new_tree(keys: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(st.lists(children, max_size=4), _mappings(keys, children)),
        max_leaves=10,
    )


collector = st.builds(
    lambda base, extra: {**base, **extra},
    st.fixed_dictionaries(
        {"name": st.sampled_from(["a", "b", "bad name"]), "type": st.sampled_from(WORDS[:3])},
        optional={
            "bootstrap_servers": st.sampled_from(["k:9092", "k:99999", "k:0", "", "a:1,b:2"]),
            "security_protocol": st.sampled_from(["SASL_SSL", "SSL", "PLAINTEXT"]),
            "sasl_mechanism": st.just("PLAIN"),
            "sasl_password": _secret_value(),
            "interval": st.sampled_from(["1ms", "10s", ".nan", 5, 0.05]),
            "stale_after": st.sampled_from(["1s", "1m", ".inf"]),
            "groups": st.fixed_dictionaries({"include": st.lists(st.sampled_from(WORDS))}),
            "labels": st.dictionaries(st.sampled_from(["topic", "env", "__x", "target"]), scalars),
        },
    ),
    _mappings(CONFIG_KEYS, st.one_of(scalars, st.lists(scalars, max_size=3))),
)
config_documents = st.fixed_dictionaries(
    {"collectors": st.one_of(st.lists(collector, max_size=3), _tree(CONFIG_KEYS))},
    optional={
        "server": _tree(CONFIG_KEYS),
        "defaults": _tree(CONFIG_KEYS),
        "x": _tree(CONFIG_KEYS),
    },
)
tls_section = st.fixed_dictionaries(
    {},
    optional={
        "cert_file": st.sampled_from(["a.crt", ""]),
        "key": _secret_value(),
        "min_version": st.sampled_from(["TLS10", "TLS11", "TLS12", "TLS13", "SSL3"]),
        "client_auth_type": st.sampled_from(["RequireAnyClientCert", "NoClientCert", "x"]),
    },
)
web_documents = st.fixed_dictionaries(
    {},
    optional={
        "tls_server_config": st.one_of(tls_section, _tree(WEB_KEYS)),
        "http_server_config": _tree(WEB_KEYS),
        "basic_auth_users": st.dictionaries(st.sampled_from(["alice", "bob"]), _secret_value()),
        "rate_limit": _tree(WEB_KEYS),
    },
)
TOKENS = [
    "\n", "  ", "- ", ": ", "collectors:", "name: a", "type: kafka", "bootstrap_servers: k:1",
    "&a ", "*a", "[", "]", "{", "}", ", ", "'", '"', "\t", "# c", "!!str ", "!!python/object:x ",
    "<<: ", "? ", "--- ", "...", "| ", "> ", "%YAML 1.1", "\\", "\x00", "\ufeff", "é", "${A}",
    "${", "$${", "basic_auth_users:", "tls_server_config:", "min_version: TLS10", "key: ",
    f"sasl_password: {SECRET}", f"password: '{SECRET}", f'alice: "{SECRET}',
]  # fmt: skip
yamlish = st.one_of(
    st.lists(st.sampled_from(TOKENS) | st.text(max_size=6), max_size=40).map("".join),
    st.text(max_size=200),
)


def _exposed(tree: Any, secret_location: Callable[[str, str], bool], parent: str = "") -> bool:
    """True when SECRET occurs in `tree` outside a secret location (then an error may show it)."""
    if isinstance(tree, dict):
        return any(
            SECRET in str(k)
            or (not secret_location(parent, str(k)) and _exposed(v, secret_location, str(k)))
            for k, v in tree.items()
        )
    if isinstance(tree, list):
        return any(_exposed(v, secret_location, parent) for v in tree)
    return SECRET in str(tree)


def _config_secret(parent: str, key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def _web_secret(parent: str, key: str) -> bool:
    return parent == "basic_auth_users" or key == "key" or _config_secret(parent, key)


def _parsed(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None  # syntax errors must not echo anything


def _check(parse: Callable[[str], Any], text: str, location: Callable[[str, str], bool]) -> None:
    try:
        parse(text)
    except ConfigError as error:
        assert error.problems, "a ConfigError lists its problems"
        if not _exposed(_parsed(text), location):
            assert SECRET not in str(error), str(error)


def _config(text: str) -> Any:
    return parse_config(text, "fuzz.yaml", ENV)


def _web(text: str) -> Any:
    return parse_web_config(text, "web.yml")


def _dump(document: Any, flow: bool) -> str:
    return yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)


@SHORT
@given(yamlish)
def test_config_loader_on_yamlish_text(text: str) -> None:
    _check(_config, text, _config_secret)


@SHORT
@given(config_documents, st.booleans())
def test_config_loader_on_structured_documents(document: Any, flow: bool) -> None:
    _check(_config, _dump(document, flow), _config_secret)


@SHORT
@given(yamlish)
def test_web_config_loader_on_yamlish_text(text: str) -> None:
    _check(_web, text, _web_secret)


@SHORT
@given(web_documents, st.booleans())
def test_web_config_loader_on_structured_documents(document: Any, flow: bool) -> None:
    _check(_web, _dump(document, flow), _web_secret)


@pytest.mark.fuzz
@pytest.mark.timeout(900)
@LONG
@given(st.one_of(yamlish, st.tuples(config_documents, st.booleans()).map(lambda d: _dump(*d))))
def test_config_loader_long(text: str) -> None:
    _check(_config, text, _config_secret)


@pytest.mark.fuzz
@pytest.mark.timeout(900)
@LONG
@given(st.one_of(yamlish, st.tuples(web_documents, st.booleans()).map(lambda d: _dump(*d))))
def test_web_config_loader_long(text: str) -> None:
    _check(_web, text, _web_secret)

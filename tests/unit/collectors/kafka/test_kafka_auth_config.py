"""Config errors of the kafka security settings through the real loader: what each mechanism
needs, settings a mechanism or protocol would ignore, bad values; each names the file, the key
and (unless secret) the value. Also the one-Kerberos-setup-per-process rule."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from exporter.collectors.kafka.auth import kerberos
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import CredentialsError
from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError

KAFKA = "{name: k, type: kafka, bootstrap_servers: 'k:9092'"
OAUTH = (
    "security_protocol: SASL_SSL, sasl_mechanism: OAUTHBEARER,"
    " sasl_oauth_token_url: 'https://idp.example/token', sasl_oauth_client_id: exporter"
)


def _problems(settings: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(f"collectors:\n  - {KAFKA}, {settings}}}\n", "c.yaml", {})
    assert str(info.value).startswith("c.yaml: ")
    return info.value.problems


def _valid(settings: str) -> KafkaConfig:
    config = parse_config(f"collectors:\n  - {KAFKA}, {settings}}}\n", "c.yaml", {})
    entry = config.collectors[0]
    assert isinstance(entry, KafkaConfig)
    return entry


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (OAUTH, "collectors[0]: sasl_oauth_client_secret required with sasl_mechanism OAUTHBEARER"),
        ("security_protocol: SASL_SSL, sasl_mechanism: AWS_MSK_IAM",
         "collectors[0]: sasl_aws_region required with sasl_mechanism AWS_MSK_IAM"),
        ("security_protocol: SASL_SSL, sasl_mechanism: PLAIN, sasl_username: u",
         "collectors[0]: sasl_password required with sasl_mechanism PLAIN"),
        ("sasl_mechanism: PLAIN, sasl_username: u, sasl_password: p",
         "collectors[0]: sasl_mechanism PLAIN is set but security_protocol is PLAINTEXT, which"
         " does not use SASL (SASL_PLAINTEXT or SASL_SSL?)"),
        ("security_protocol: SASL_PLAINTEXT, sasl_mechanism: PLAIN, sasl_username: u,"
         " sasl_password: p, sasl_oauth_client_id: x",
         "collectors[0]: sasl_oauth_client_id is set but is used only with sasl_mechanism"
         " OAUTHBEARER (sasl_mechanism is PLAIN)"),
        ("security_protocol: SASL_PLAINTEXT, sasl_mechanism: GSSAPI, ssl_insecure_skip_verify: true",
         "collectors[0]: ssl_insecure_skip_verify set but security_protocol is SASL_PLAINTEXT,"
         " which does not use TLS (SSL or SASL_SSL?)"),
        ("security_protocol: SSL, ssl_key_password: pw-1",
         "collectors[0]: ssl_key_password is set but ssl_certfile is not"),
        ("security_protocol: SASL_PLAINTEXT, sasl_mechanism: GSSAPI, sasl_kerberos_keytab: KT",
         "collectors[0]: sasl_kerberos_principal is required with sasl_kerberos_keytab"),
        ("security_protocol: SSL, ssl_server_name: 'broker:9093'",
         "collectors[0].ssl_server_name: invalid value 'broker:9093': expected a host name"),
        ("security_protocol: SASL_SSL, sasl_mechanism: OAUTHBEARER, sasl_oauth_client_id: e,"
         " sasl_oauth_client_secret: s, sasl_oauth_token_url: 'ftp://idp/token'",
         "collectors[0].sasl_oauth_token_url: invalid value '***': expected an http:// or"
         " https:// URL with a host"),
        ("security_protocol: SASL_PLAINTEXT, sasl_mechanism: GSSAPI,"
         " sasl_kerberos_krb5_config: /no/krb5.conf",
         "collectors[0].sasl_kerberos_krb5_config: invalid value '/no/krb5.conf': no such file"),
        ("security_protocol: SASL_SSL, sasl_mechanism: KERBEROS",
         "collectors[0].sasl_mechanism: invalid value 'KERBEROS': expected one of 'PLAIN',"),
    ],
)  # fmt: skip
def test_problems_name_key_and_value(settings: str, problem: str, tmp_path: Path) -> None:
    keytab = tmp_path / "client.keytab"
    keytab.write_bytes(b"\x05\x02")
    problems = _problems(settings.replace("KT", str(keytab)))
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem), problems[0]


def test_secrets_never_show() -> None:
    problems = _problems(
        f"{OAUTH}, sasl_oauth_client_secret: cs-Pw-91, ssl_key_password: kp-Pw-17, sasl_username: u"
    )
    assert problems and not any("cs-Pw-91" in p or "kp-Pw-17" in p for p in problems), problems


def test_missing_optional_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gssapi" else real(name, *a)
    )
    (problem,) = _problems("security_protocol: SASL_PLAINTEXT, sasl_mechanism: GSSAPI")
    assert "needs the Python package 'gssapi'" in problem
    assert "pip install 'kafka-health-exporter[kerberos]'" in problem


def test_every_mechanism_when_complete() -> None:
    assert _valid(f"{OAUTH}, sasl_oauth_client_secret: s").sasl_oauth_scope is None
    msk = _valid(
        "security_protocol: SASL_SSL, sasl_mechanism: AWS_MSK_IAM, sasl_aws_region: eu-west-1"
    )
    assert msk.sasl_aws_role_arn is None
    krb = _valid("security_protocol: SASL_PLAINTEXT, sasl_mechanism: GSSAPI")
    assert krb.sasl_kerberos_service_name == "kafka"
    tls = _valid(
        "security_protocol: SSL, ssl_insecure_skip_verify: true, ssl_server_name: b.example"
    )
    assert tls.ssl_insecure_skip_verify and tls.ssl_server_name == "b.example"


async def test_one_kerberos_setup_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KRB5_CONFIG", "KRB5_CLIENT_KTNAME", "KRB5CCNAME"):
        monkeypatch.delenv(name, raising=False)  # restored after the test
    gss = "security_protocol: SASL_PLAINTEXT, sasl_mechanism: GSSAPI"
    first = _valid(f"{gss}, sasl_kerberos_ccache: 'FILE:/tmp/khe-a'")
    second = _valid(f"{gss}, sasl_kerberos_ccache: 'FILE:/tmp/khe-b'").model_copy(
        update={"name": "k2"}
    )
    owner, other, reloaded = object(), object(), object()
    try:
        await kerberos.activate(owner, first)
        assert os.environ["KRB5CCNAME"] == "FILE:/tmp/khe-a"
        with pytest.raises(CredentialsError, match="uses other Kerberos settings"):
            await kerberos.activate(other, second)
        # a reload replacing collector k with other settings takes over
        await kerberos.activate(
            reloaded, first.model_copy(update={"sasl_kerberos_ccache": "FILE:/tmp/khe-c"})
        )
        assert os.environ["KRB5CCNAME"] == "FILE:/tmp/khe-c"
    finally:
        kerberos.release(owner, first)
        kerberos.release(reloaded, first)
    assert kerberos._active == {}

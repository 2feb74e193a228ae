"""web-config.yml parsing and validation: the exporter-toolkit format, errors naming file, key and
value, the SSL context built from it, and `check-config` / `run` refusing a bad file."""

from __future__ import annotations

import ssl
from pathlib import Path

import bcrypt
import pytest

from exporter.config.loader import load_config, parse_config
from exporter.schema.errors import ConfigError
from exporter.web.config import parse_web_config
from exporter.web.loader import load_web_config
from tests.support.exporter_process import ROOT, run_cli
from tests.support.tls_certs import Authority

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """A CA with a server certificate `server.crt`/`server.key` in one directory."""
    ca = Authority(tmp_path_factory.mktemp("pki"))
    ca.issue("server", server=True, dns=("localhost",), ips=("127.0.0.1",))
    return ca


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_web_config(text, "web.yml")
    assert caught.value.source == "web.yml"
    return caught.value.problems


def _load_problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert caught.value.source == str(path)
    return caught.value.problems


def test_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    path = tmp_path / "web.yml"
    path.write_text("# nothing\n")
    settings = load_web_config(path)
    assert settings.ssl_context is None and not settings.users and not settings.headers
    path.write_text("tls_server_config:\nbasic_auth_users:\n")
    assert load_web_config(path).ssl_context is None


def test_node_exporter_style_file_is_accepted(pki: Authority) -> None:
    """A typical node_exporter web-config.yml, relative file names included, works unchanged."""
    (pki.directory / "ca.crt").write_bytes(pki.ca.cert.read_bytes())
    path = pki.directory / "web-config.yml"
    path.write_text(
        f"""
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
  max_version: TLS13
  cipher_suites:
    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
    - TLS_AES_128_GCM_SHA256
  prefer_server_cipher_suites: true
  curve_preferences: [CurveP256]
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  prometheus: {HASH}
rate_limit:
  interval: 100ms
  burst: 20
"""
    )
    settings = load_web_config(path)
    context = settings.ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.maximum_version == ssl.TLSVersion.TLSv1_3
    assert context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"}
    assert settings.users == {"prometheus": HASH.encode()}
    assert settings.headers["X-Frame-Options"] == "deny"
    assert settings.file.rate_limit.interval == 0.1
    tls = settings.file.tls_server_config
    assert tls.cert_file == str(pki.directory / "server.crt")  # relative to the file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tls_server_config: {cert_file: a, key_file: b, reload_interval: 5m}",
            "tls_server_config.reload_interval: unknown key (value '5m')",
        ),
        ("unknown_section: {}", "unknown_section: unknown key"),
        (
            "tls_server_config: {cert_file: a, key_file: b, client_auth_type: Maybe}",
            "tls_server_config.client_auth_type: invalid value 'Maybe': expected one of",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAnyClientCert}",
            "Python's ssl cannot require a client certificate without verifying it",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}",
            "tls_server_config.min_version: invalid value 'TLS14'",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}",
            "tls_server_config.min_version: invalid value 'TLS13': higher than max_version",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]}",
            "tls_server_config.cipher_suites: invalid value ['TLS_RSA_WITH_RC4_128_SHA']: "
            "unknown or insecure cipher suite(s) TLS_RSA_WITH_RC4_128_SHA",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, curve_preferences: [X25519, CurveP256]}",
            "can restrict the key exchange to one curve only",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, curve_preferences: [Curve9]}",
            "unknown curve(s) Curve9",
        ),
        (
            "tls_server_config: {key_file: b}",
            "tls_server_config.cert_file: required key is missing",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, client_ca_file: ca}",
            "client CA configured without a client auth policy",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert}",
            "tls_server_config.client_ca_file: required key is missing",
        ),
        (
            "tls_server_config: {cert_file: a, key_file: b, client_allowed_sans: [x]}",
            "client_allowed_sans: needs client_auth_type RequireAndVerifyClientCert",
        ),
        (
            "http_server_config: {headers: {X-Powered-By: me}}",
            "HTTP header 'X-Powered-By' can not be configured",
        ),
        (
            "http_server_config: {headers: {X-Frame-Options: allow}}",
            "X-Frame-Options: expected one of deny, sameorigin, got 'allow'",
        ),
        ("http_server_config: {http3: true}", "http_server_config.http3: unknown key"),
        ("rate_limit: {interval: soon, burst: 2}", "rate_limit.interval: invalid value 'soon'"),
        ("basic_auth_users: [alice]", "basic_auth_users: invalid value"),
        ("basic_auth_users: {alice: plain}", "basic_auth_users.alice: invalid value '***'"),
        ("[1, 2]", "expected a mapping at the top level, got list"),
        ("a: [", "not valid YAML"),
    ],
)
def test_each_mistake_names_key_and_value(text: str, expected: str) -> None:
    problems = _problems(text)
    assert any(expected in p for p in problems), problems


def test_plain_password_is_refused_and_never_shown() -> None:
    problems = _problems(
        f"basic_auth_users: {{alice: hunter2, bob: '$2y$10$tooshort', carol: '{HASH}'}}"
    )
    assert len(problems) == 2, problems
    assert problems[0].startswith("basic_auth_users.alice: invalid value '***'")
    assert problems[1].startswith("basic_auth_users.bob: invalid value '***'")
    assert "bcrypt hash" in problems[0]
    assert "hunter2" not in " ".join(problems) and "tooshort" not in " ".join(problems)


def test_several_problems_are_reported_together() -> None:
    problems = _problems(
        "tls_server_config: {cert_file: a, key_file: b, min_version: TLS9, foo: 1}\n"
        "http_server_config: {headers: {Server: x}}\n"
    )
    assert len(problems) == 3, problems


def test_missing_and_bad_files_name_the_file(pki: Authority, tmp_path: Path) -> None:
    assert "cannot read the web config file" in _load_problems(tmp_path / "absent.yml")[0]

    path = tmp_path / "web.yml"
    path.write_text(f"tls_server_config: {{cert_file: {tmp_path}/nope.crt, key_file: x.key}}\n")
    problems = _load_problems(path)
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"tls_server_config.cert_file: cannot read '{tmp_path}/nope.crt'")
    assert problems[1].startswith("tls_server_config.key_file: cannot read")

    other = Authority(tmp_path, "other-ca").issue("other", server=True, dns=("localhost",))
    path.write_text(
        f"tls_server_config: {{cert_file: {pki.directory}/server.crt, key_file: {other.key}}}\n"
    )
    problems = _load_problems(path)
    assert "cannot load the certificate and key" in problems[0] and "server.crt" in problems[0]

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    path.write_text(
        f"tls_server_config: {{cert_file: {pki.directory}/server.crt, "
        f"key_file: {pki.directory}/server.key, client_auth_type: RequireAndVerifyClientCert, "
        f"client_ca_file: {garbage}}}\n"
    )
    problems = _load_problems(path)
    assert problems[0].startswith("tls_server_config.client_ca_file: cannot load"), problems


def test_inline_pem_cert_key_and_client_ca(pki: Authority, tmp_path: Path) -> None:
    def indent(p: Path) -> str:
        return "\n".join("    " + line for line in p.read_text().splitlines())

    server = pki.directory
    path = tmp_path / "web.yml"
    path.write_text(
        "tls_server_config:\n"
        f"  cert: |\n{indent(server / 'server.crt')}\n"
        f"  key: |\n{indent(server / 'server.key')}\n"
        f"  client_ca: |\n{indent(pki.ca.cert)}\n"
        "  client_auth_type: VerifyClientCertIfGiven\n"
    )
    context = load_web_config(path).ssl_context
    assert context is not None and context.verify_mode == ssl.CERT_OPTIONAL
    assert len(context.get_ca_certs()) == 1


def test_server_section_of_the_main_config(tmp_path: Path) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        "server: {web_config_file: web.yml, unauthenticated_paths: [/live]}\n"
        "collectors: [{name: k, type: kafka, bootstrap_servers: 'k:9092'}]\n"
    )
    config = load_config(config_path, env={})
    assert config.server.web_config_file == str(tmp_path / "web.yml")
    assert config.server.unauthenticated_paths == ("/live",)
    default = parse_config(
        "collectors: [{name: k, type: kafka, bootstrap_servers: 'k:9092'}]", env={}
    )
    assert default.server.unauthenticated_paths == ("/live", "/ready", "/healthz")
    with pytest.raises(ConfigError) as caught:
        parse_config(
            "server: {unauthenticated_paths: [live]}\n"
            "collectors: [{name: k, type: kafka, bootstrap_servers: 'k:9092'}]",
            "c.yaml",
            env={},
        )
    assert "server.unauthenticated_paths" in caught.value.problems[0]
    assert "must start with /" in caught.value.problems[0]


def test_check_config_and_run_refuse_a_bad_web_config(pki: Authority, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("collectors: [{name: k, type: kafka, bootstrap_servers: 'k:9092'}]\n")
    web = tmp_path / "web.yml"
    web.write_text("tls_server_config: {cert_file: a.crt, key_file: a.key, ocsp: true}\n")
    for command in ("check-config", "run"):
        done = run_cli(command, "-c", str(config), "--web.config.file", str(web))
        assert done.returncode == 1, done.stderr
        assert f"{web}: tls_server_config.ocsp: unknown key (value True)" in done.stderr

    web.write_text(
        f"tls_server_config: {{cert_file: {pki.directory}/server.crt, "
        f"key_file: {pki.directory}/server.key}}\nbasic_auth_users: {{p: '{HASH}'}}\n"
    )
    done = run_cli("check-config", "-c", str(config), "--web.config.file", str(web))
    assert done.returncode == 0, done.stderr
    assert f"web config {web}: TLS, 1 basic auth user(s)" in done.stdout


def test_readme_web_config_example_parses() -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("<!-- section: operations -->") :]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    parsed = parse_web_config(example, "README.md")
    assert parsed.tls_server_config.client_auth_type == "RequireAndVerifyClientCert"
    assert list(parsed.basic_auth_users) == ["prometheus"]

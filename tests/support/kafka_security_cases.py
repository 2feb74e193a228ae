"""The security setups the kafka collector is tested with against tests/support/kafka_security.py.

`WORKING`: collector name -> (listener, settings) of the setups that must report exact lag;
`BROKEN`: collector name -> the listener, settings and what the error must say, for setups that
must fail with a message naming the mechanism or certificate problem. `collectors_config` writes
one collector per setup into a real config file; `assert_no_secret` checks that no password shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_security import PASSWORDS, SECRETS, USER, WRONG_PASSWORD, Certificates
from tests.support.kafka_security_tls import KEY_PASSWORD, WRONG_KEY_PASSWORD

Settings = Callable[[Certificates], dict[str, Any]]


def sasl(protocol: str, mechanism: str, password: str | None = None, user: str = USER) -> Settings:
    def settings(certs: Certificates) -> dict[str, Any]:
        out: dict[str, Any] = {
            "security_protocol": protocol,
            "sasl_mechanism": mechanism,
            "sasl_username": user,
            "sasl_password": password or PASSWORDS[mechanism],
        }
        if protocol == "SASL_SSL":
            out["ssl_cafile"] = str(certs.ca)
        return out

    return settings


def tls(cafile: str = "ca", client: str | None = None, **extra: Any) -> Settings:
    def settings(certs: Certificates) -> dict[str, Any]:
        out: dict[str, Any] = {
            "security_protocol": "SSL",
            "ssl_cafile": str(certs.ca if cafile == "ca" else certs.other_ca),
            **extra,
        }
        if client is not None:
            issued = certs.client if client == "ours" else certs.other_client
            out["ssl_certfile"], out["ssl_keyfile"] = str(issued.cert), str(issued.key)
        return out

    return settings


def encrypted_client(password: str | None) -> Settings:
    """mTLS with the client key encrypted (KEY_PASSWORD), given `password` for it."""

    def settings(certs: Certificates) -> dict[str, Any]:
        out: dict[str, Any] = {
            "security_protocol": "SSL",
            "ssl_cafile": str(certs.ca),
            "ssl_certfile": str(certs.client.cert),
            "ssl_keyfile": str(certs.client_encrypted_key),
        }
        if password is not None:
            out["ssl_key_password"] = password
        return out

    return settings


WORKING: dict[str, tuple[str, Settings]] = {
    "sasl-plain": ("SASL", sasl("SASL_PLAINTEXT", "PLAIN")),
    "sasl-scram-sha-256": ("SASL", sasl("SASL_PLAINTEXT", "SCRAM-SHA-256")),
    "sasl-scram-sha-512": ("SASL", sasl("SASL_PLAINTEXT", "SCRAM-SHA-512")),
    "tls": ("TLS", tls()),
    "mtls": ("MTLS", tls(client="ours")),
    "sasl-ssl-plain": ("SASL_TLS", sasl("SASL_SSL", "PLAIN")),
    "sasl-ssl-scram-sha-512": ("SASL_TLS", sasl("SASL_SSL", "SCRAM-SHA-512")),
    "tls-no-hostname-check": ("TLS_NONAME", tls(ssl_check_hostname=False)),
    "tls-skip-verify-self-signed": ("TLS_SELF_SIGNED", tls(ssl_insecure_skip_verify=True)),
    "tls-skip-verify-untrusted-ca": ("TLS", tls(cafile="other", ssl_insecure_skip_verify=True)),
    "tls-server-name": ("TLS_NONAME", tls(ssl_server_name="kafka.invalid")),
    "mtls-encrypted-key": ("MTLS", encrypted_client(KEY_PASSWORD)),
}
"""Collector name -> (listener, settings) of the setups that must work."""


@dataclass(frozen=True)
class Broken:
    listener: str
    settings: Settings
    expect: tuple[str, ...]
    """Substrings the error must contain (after the collector's address, which varies)."""


BROKEN: dict[str, Broken] = {
    "plain-wrong-password": Broken(
        "SASL",
        sasl("SASL_PLAINTEXT", "PLAIN", WRONG_PASSWORD),
        ("SASL authentication failed (PLAIN, user 'exporter')", "Invalid username or password"),
    ),
    "scram-256-wrong-password": Broken(
        "SASL",
        sasl("SASL_PLAINTEXT", "SCRAM-SHA-256", WRONG_PASSWORD),
        ("SASL authentication failed (SCRAM-SHA-256, user 'exporter')", "invalid credentials"),
    ),
    "scram-512-wrong-password-over-tls": Broken(
        "SASL_TLS",
        sasl("SASL_SSL", "SCRAM-SHA-512", WRONG_PASSWORD),
        ("SASL authentication failed (SCRAM-SHA-512, user 'exporter')", "invalid credentials"),
    ),
    "plain-unknown-user": Broken(
        "SASL",
        sasl("SASL_PLAINTEXT", "PLAIN", PASSWORDS["PLAIN"], user="nobody"),
        ("SASL authentication failed (PLAIN, user 'nobody')", "Invalid username or password"),
    ),
    "scram-unknown-user": Broken(
        "SASL",
        sasl("SASL_PLAINTEXT", "SCRAM-SHA-512", PASSWORDS["SCRAM-SHA-512"], user="nobody"),
        ("SASL authentication failed (SCRAM-SHA-512, user 'nobody')", "invalid credentials"),
    ),
    "untrusted-ca": Broken(
        "TLS",
        tls(cafile="other"),
        (
            "TLS: certificate verify failed: unable to get local issuer certificate",
            "not signed by a CA in ssl_cafile",
            "unrelated-ca.crt",
        ),
    ),
    "hostname-mismatch": Broken(
        "TLS_NONAME",
        tls(),
        ("TLS: certificate verify failed: IP address mismatch", "ssl_check_hostname: false"),
    ),
    "self-signed-untrusted": Broken(
        "TLS_SELF_SIGNED",
        tls(),
        (
            "TLS: certificate verify failed: self-signed certificate",
            "ssl_insecure_skip_verify: true accepts it unchecked",
        ),
    ),
    "server-name-mismatch": Broken(
        "TLS_NONAME",
        tls(ssl_server_name="wrong.invalid"),
        (
            "TLS: certificate verify failed: Hostname mismatch",
            "does not name ssl_server_name 'wrong.invalid'",
        ),
    ),
    "encrypted-key-without-password": Broken(
        "MTLS",
        encrypted_client(None),
        ("TLS: the private key in", "exporter-client-enc.key is encrypted and no ssl_key_password"),
    ),
    "encrypted-key-wrong-password": Broken(
        "MTLS",
        encrypted_client(WRONG_KEY_PASSWORD),
        (
            "TLS: cannot decrypt the private key in",
            "exporter-client-enc.key",
            "wrong ssl_key_password",
        ),
    ),
    "mtls-without-client-cert": Broken(
        "MTLS",
        tls(),
        ("TLS: the broker at", "requires a client certificate and none is configured"),
    ),
    "mtls-untrusted-client-cert": Broken(
        "MTLS",
        tls(client="stranger"),
        ("TLS: the broker at", "rejected the client certificate", "stranger-client.crt"),
    ),
    # A missing ssl_cafile is a config error now (tests/e2e/test_hostile_cli.py); a file that
    # exists but holds no certificate still fails only when the TLS context is built.
    "cafile-without-a-certificate": Broken(
        "TLS",
        lambda certs: {"security_protocol": "SSL", "ssl_cafile": str(certs.client.key)},
        ("TLS: cannot load ssl_cafile", "exporter-client.key"),
    ),
    "client-key-does-not-match-cert": Broken(
        "MTLS",
        lambda certs: {
            "security_protocol": "SSL",
            "ssl_cafile": str(certs.ca),
            "ssl_certfile": str(certs.client.cert),
            "ssl_keyfile": str(certs.other_client.key),
        },
        (
            "TLS: cannot load ssl_certfile",
            "exporter-client.crt",
            "stranger-client.key",
            "key values mismatch",
        ),
    ),
    "plaintext-client-on-tls-listener": Broken(
        "TLS",
        lambda _: {"security_protocol": "PLAINTEXT"},
        ("speaks TLS but security_protocol is PLAINTEXT", "use SSL or SASL_SSL"),
    ),
    "sasl-client-on-tls-listener": Broken(
        "TLS",
        sasl("SASL_SSL", "SCRAM-SHA-256"),
        ("SASL handshake (SCRAM-SHA-256) refused", "the listener does not take SASL"),
    ),
    "plaintext-client-on-sasl-listener": Broken(
        "SASL",
        lambda _: {"security_protocol": "PLAINTEXT"},
        ("closed the connection at the first request", "may require SASL"),
    ),
}


def collectors_config(cluster: KafkaCluster, group: str, entries: dict[str, dict[str, Any]]) -> str:
    """One collector per entry (name -> listener and security settings) in a real config file."""
    collectors = [
        {
            "name": name,
            "type": "kafka",
            "bootstrap_servers": cluster.listener_bootstrap(entry.pop("listener")),
            "cluster": name,
            "groups": {"include": [group]},
            "health": True,
            **entry,
        }
        for name, entry in entries.items()
    ]
    config = {"defaults": {"interval": "2s", "timeout": "1500ms"}, "collectors": collectors}
    return yaml.safe_dump(config, sort_keys=False)


def assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a password shows in {where}"

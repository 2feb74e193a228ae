"""A Kafka 4.x node with secured client listeners, for the security end-to-end tests.

Beside the PLAINTEXT listener (inter-broker, and what tests use to create topics and commit):

- `SASL` (SASL_PLAINTEXT) with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512,
- `TLS` (SSL, server certificate only),
- `MTLS` (SSL with `ssl.client.auth=required`, client certificates issued by the test CA),
- `SASL_TLS` (SASL_SSL with the same three mechanisms),
- `TLS_NONAME` (SSL with a certificate naming neither 127.0.0.1 nor localhost),
- `TLS_SELF_SIGNED` (SSL with a self-signed certificate no CA vouches for).

The broker's key and certificates are PEM files (KIP-651: `ssl.keystore.type=PEM` with the key
and its chain in one file, `ssl.truststore.type=PEM`); no JKS, no keytool. PLAIN users live in the
listener's JAAS config, SCRAM users are written at format time (`--add-scram`), so no JAAS file
or `kafka-configs` run is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_node import Listener
from tests.support.kafka_security_tls import (
    KEY_PASSWORD,
    WRONG_KEY_PASSWORD,
    encrypted_key,
    self_signed_keystore,
)
from tests.support.tls_certs import Authority, Issued

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
USER = "exporter"
PASSWORDS = {
    "PLAIN": "plain-Pw-4c1e9a7b",
    "SCRAM-SHA-256": "scram256-Pw-9d2f6e13",
    "SCRAM-SHA-512": "scram512-Pw-b5a8c042",
}
"""One password per mechanism, so a test can tell which one reached the broker."""
WRONG_PASSWORD = "wrong-Pw-77e0d3c9"
SECRETS = (*PASSWORDS.values(), WRONG_PASSWORD, KEY_PASSWORD, WRONG_KEY_PASSWORD)
"""Every password the tests hand out: none may show in a log, an error or a metric."""


@dataclass(frozen=True)
class Certificates:
    """The test CA and what it issued, and a CA the broker does not trust with its client."""

    ca: Path
    server_keystore: Path
    """Key + certificate for 127.0.0.1 and localhost, as the broker's PEM keystore."""
    noname_keystore: Path
    """Key + certificate for `kafka.invalid` only (hostname verification fails on 127.0.0.1)."""
    client: Issued
    other_ca: Path
    other_client: Issued
    """A client certificate the broker does not trust (issued by `other_ca`)."""
    self_signed_keystore: Path
    """Key + a self-signed certificate for 127.0.0.1 (no CA vouches for it)."""
    client_encrypted_key: Path
    """`client`'s key encrypted with KEY_PASSWORD."""


def _keystore(issued: Issued, path: Path) -> Path:
    path.write_bytes(issued.key.read_bytes() + issued.cert.read_bytes())
    return path


def make_certificates(directory: Path) -> Certificates:
    """Issue everything into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    authority = Authority(directory, "kafka-test-ca")
    server = authority.issue("broker", server=True, dns=("localhost",), ips=("127.0.0.1",))
    noname = authority.issue("broker-noname", server=True, dns=("kafka.invalid",))
    other = Authority(directory, "unrelated-ca")
    client = authority.issue("exporter-client", server=False)
    return Certificates(
        ca=authority.ca.cert,
        server_keystore=_keystore(server, directory / "broker-keystore.pem"),
        noname_keystore=_keystore(noname, directory / "broker-noname-keystore.pem"),
        client=client,
        other_ca=other.ca.cert,
        other_client=other.issue("stranger-client", server=False),
        self_signed_keystore=self_signed_keystore(directory),
        client_encrypted_key=encrypted_key(client.key, directory / "exporter-client-enc.key"),
    )


def _sasl_properties() -> dict[str, str]:
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    return {
        "sasl.enabled.mechanisms": ",".join(MECHANISMS),
        "plain.sasl.jaas.config": f'{plain} required user_{USER}="{PASSWORDS["PLAIN"]}";',
        "scram-sha-256.sasl.jaas.config": f"{scram} required;",
        "scram-sha-512.sasl.jaas.config": f"{scram} required;",
    }


def sasl_listener(name: str = "SASL") -> Listener:
    """A SASL_PLAINTEXT listener `name` with PLAIN and SCRAM for `USER` (SCRAM users are added
    at format time: pass `scram_users()` to the cluster)."""
    return Listener(name, "SASL_PLAINTEXT", _sasl_properties())


def scram_users() -> list[str]:
    """`--add-scram` arguments for `USER` with each SCRAM mechanism's password."""
    return [
        f"{mechanism}=[name={USER},password={PASSWORDS[mechanism]}]" for mechanism in MECHANISMS[1:]
    ]


def _tls_properties(
    certs: Certificates, client_auth: str, keystore: Path | None = None
) -> dict[str, str]:
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore or certs.server_keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs.ca),
        "ssl.client.auth": client_auth,
    }


def secure_cluster(certs: Certificates) -> KafkaCluster:
    """A single node with the SASL, TLS, MTLS, SASL_TLS, TLS_NONAME and TLS_SELF_SIGNED
    listeners (not started)."""
    return KafkaCluster(
        listeners=[
            sasl_listener(),
            Listener("TLS", "SSL", _tls_properties(certs, "none")),
            Listener("MTLS", "SSL", _tls_properties(certs, "required")),
            Listener(
                "SASL_TLS", "SASL_SSL", {**_sasl_properties(), **_tls_properties(certs, "none")}
            ),
            Listener("TLS_NONAME", "SSL", _tls_properties(certs, "none", certs.noname_keystore)),
            Listener(
                "TLS_SELF_SIGNED",
                "SSL",
                _tls_properties(certs, "none", certs.self_signed_keystore),
            ),
        ],
        # Broker-wide too: the SASL listeners' mechanisms, whatever the listener prefix allows.
        properties={"sasl.enabled.mechanisms": ",".join(MECHANISMS)},
        scram_users=scram_users(),
    )

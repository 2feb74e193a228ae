"""`tls_server_config` of the web config: the toolkit's TLS settings, restricted to what Python's
`ssl` can honour (versions, cipher suites, curves, client-certificate policies)."""

from __future__ import annotations

import ssl

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from exporter.schema.types import Flag

CLIENT_AUTH_TYPES = (
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
)
TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# Python's ssl on OpenSSL 3 cannot negotiate these: a handshake fails with NO_CIPHERS_AVAILABLE.
UNAVAILABLE_VERSIONS = ("TLS10", "TLS11")
# Go's tls.CipherSuites() names -> OpenSSL names. The TLS 1.3 suites cannot be configured in Go
# either (they are always on), so they are accepted and map to nothing.
CIPHER_SUITES: dict[str, str | None] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
CURVES = {"CurveP256": "prime256v1", "CurveP384": "secp384r1", "CurveP521": "secp521r1"}
CURVES["X25519"] = "X25519"


class TlsServerConfig(BaseModel):
    """`tls_server_config`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert: str | None = None
    key: SecretStr | None = None
    client_ca: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    client_auth_type: str = "NoClientCert"
    client_ca_file: str | None = None
    client_allowed_sans: tuple[str, ...] = ()
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()
    prefer_server_cipher_suites: Flag = True
    curve_preferences: tuple[str, ...] = ()

    @field_validator("client_auth_type")
    @classmethod
    def _known_auth_type(cls, value: str) -> str:
        if value == "RequireClientCert":  # the toolkit's old name
            value = "RequireAnyClientCert"
        if value not in CLIENT_AUTH_TYPES:
            raise ValueError(f"expected one of {', '.join(CLIENT_AUTH_TYPES)}")
        if value == "RequireAnyClientCert":
            raise ValueError(
                "Python's ssl cannot require a client certificate without verifying it; "
                "use RequireAndVerifyClientCert with client_ca_file"
            )
        return value

    @field_validator("min_version", "max_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value not in TLS_VERSIONS:
            raise ValueError(f"expected one of {', '.join(TLS_VERSIONS)}")
        if value in UNAVAILABLE_VERSIONS:
            raise ValueError(
                f"{ssl.OPENSSL_VERSION} refuses TLS 1.0 and 1.1 (no cipher suites at its "
                "security level); use TLS12 or TLS13"
            )
        return value

    @field_validator("cipher_suites")
    @classmethod
    def _known_ciphers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in CIPHER_SUITES]
        if unknown:
            raise ValueError(
                f"unknown or insecure cipher suite(s) {', '.join(unknown)}; "
                f"expected Go names like TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            )
        return value

    @field_validator("curve_preferences")
    @classmethod
    def _one_known_curve(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in CURVES]
        if unknown:
            raise ValueError(f"unknown curve(s) {', '.join(unknown)}; expected {', '.join(CURVES)}")
        if len(value) > 1:
            raise ValueError(
                "Python's ssl can restrict the key exchange to one curve only; list one curve"
            )
        return value

    @property
    def enabled(self) -> bool:
        """False for an empty section: the toolkit then serves plain HTTP."""
        return any(
            (self.cert, self.key, self.cert_file, self.key_file, self.client_ca,
             self.client_ca_file, self.client_auth_type != "NoClientCert"),
        )  # fmt: skip

    @property
    def verifies_clients(self) -> bool:
        """True when client certificates are checked against the client CA."""
        return self.client_auth_type in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert")

    def cross_problems(self) -> list[str]:
        """Rules across keys, as exporter-toolkit enforces them."""
        problems = []
        where = "tls_server_config"
        if self.cert and self.cert_file:
            problems.append(f"{where}: set cert or cert_file, not both")
        if self.key and self.key_file:
            problems.append(f"{where}: set key or key_file, not both")
        if self.client_ca and self.client_ca_file:
            problems.append(f"{where}: set client_ca or client_ca_file, not both")
        if not (self.cert or self.cert_file):
            problems.append(f"{where}.cert_file: required key is missing (TLS needs a certificate)")
        if not (self.key or self.key_file):
            problems.append(f"{where}.key_file: required key is missing (TLS needs a key)")
        has_ca = bool(self.client_ca or self.client_ca_file)
        if has_ca and self.client_auth_type == "NoClientCert":
            problems.append(
                f"{where}.client_auth_type: client CA configured without a client auth policy; "
                "set client_auth_type: RequireAndVerifyClientCert"
            )
        if self.verifies_clients and not has_ca:
            problems.append(
                f"{where}.client_ca_file: required key is missing "
                f"(client_auth_type {self.client_auth_type!r} verifies client certificates)"
            )
        if self.client_allowed_sans and self.client_auth_type != "RequireAndVerifyClientCert":
            problems.append(
                f"{where}.client_allowed_sans: needs client_auth_type RequireAndVerifyClientCert"
            )
        if TLS_VERSIONS[self.min_version] > TLS_VERSIONS[self.max_version]:
            problems.append(
                f"{where}.min_version: invalid value {self.min_version!r}: "
                f"higher than max_version {self.max_version!r}"
            )
        return problems

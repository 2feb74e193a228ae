"""The exporter-toolkit `web-config.yml`: TLS, basic auth, response headers and a rate limit.

The file format is the one node_exporter and every exporter built on prometheus/exporter-toolkit
read with `--web.config.file`. Keys Python's `ssl` cannot honour are start-up errors that name the
file, the key and the value; nothing is silently ignored except `http2` (aiohttp serves HTTP/1.1).
Relative file names are resolved against the web config file's directory, as the toolkit does.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from exporter.schema.durations import parse_duration
from exporter.schema.errors import ConfigError, describe_error
from exporter.schema.yaml_env import load_yaml_mapping

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
# exporter-toolkit's list: only these headers, and for two of them only these values.
HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
_BCRYPT = re.compile(r"^\$2[abxy]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$")


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
    prefer_server_cipher_suites: bool = True
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


class HttpServerConfig(BaseModel):
    """`http_server_config`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http2: bool = True
    """Accepted for compatibility; aiohttp serves HTTP/1.1 only."""
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, content in value.items():
            if name not in HEADERS:
                raise ValueError(
                    f"HTTP header {name!r} can not be configured; expected {', '.join(HEADERS)}"
                )
            allowed = HEADERS[name]
            if allowed and content not in allowed:
                raise ValueError(f"{name}: expected one of {', '.join(allowed)}, got {content!r}")
        return value


class RateLimit(BaseModel):
    """`rate_limit`: a token bucket over all requests (interval 0 disables it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: float = 0.0
    burst: int = Field(default=0, ge=0)

    @field_validator("interval", mode="before")
    @classmethod
    def _duration_or_zero(cls, value: Any) -> float:
        if value in (0, "0", "0s"):
            return 0.0
        return parse_duration(value)


class WebConfigFile(BaseModel):
    """The whole web-config.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tls_server_config: TlsServerConfig = Field(default_factory=TlsServerConfig)
    http_server_config: HttpServerConfig = Field(default_factory=HttpServerConfig)
    basic_auth_users: dict[str, SecretStr] = Field(default_factory=dict)
    rate_limit: RateLimit = Field(default_factory=RateLimit)

    def user_problems(self) -> list[str]:
        """One problem per user whose password is not a bcrypt hash (the value is never shown)."""
        return [
            f"basic_auth_users.{user}: invalid value '***': expected a bcrypt hash like "
            "$2y$10$... (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')"
            for user, hashed in self.basic_auth_users.items()
            if not _BCRYPT.match(hashed.get_secret_value())
        ]


@dataclass(frozen=True)
class WebSettings:
    """A validated web config, with its TLS context built (None: plain HTTP)."""

    source: str
    file: WebConfigFile
    ssl_context: ssl.SSLContext | None

    @property
    def users(self) -> Mapping[str, bytes]:
        """User name -> bcrypt hash."""
        return {u: h.get_secret_value().encode() for u, h in self.file.basic_auth_users.items()}

    @property
    def headers(self) -> Mapping[str, str]:
        """Headers added to every response."""
        return self.file.http_server_config.headers


NO_WEB_CONFIG = WebSettings("<none>", WebConfigFile(), None)
"""Plain HTTP, no auth: what runs without --web.config.file."""


def _is_secret(loc: tuple[Any, ...]) -> bool:
    """Password hashes and an inline key are never shown."""
    return loc[0] == "basic_auth_users" or loc[-1] == "key"


def parse_web_config(text: str, source: str) -> WebConfigFile:
    """Validate web-config.yml text; raise ConfigError listing every problem."""
    data = load_yaml_mapping(text, source)
    for section in ("tls_server_config", "http_server_config", "rate_limit"):
        if data.get(section, 0) is None:
            data.pop(section)  # `tls_server_config:` with nothing under it
    if data.get("basic_auth_users", 0) is None:
        data["basic_auth_users"] = {}
    try:
        parsed = WebConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            source, [describe_error(e, secret=_is_secret) for e in exc.errors()]
        ) from None
    tls = parsed.tls_server_config
    problems = parsed.user_problems() + (tls.cross_problems() if tls.enabled else [])
    if problems:
        raise ConfigError(source, problems)
    return parsed


def _resolve(base: Path, name: str | None) -> str | None:
    if name is None:
        return None
    path = Path(name)
    return str(path if path.is_absolute() else base / path)


def resolve_paths(parsed: WebConfigFile, base: Path) -> WebConfigFile:
    """Join relative cert/key/CA file names with `base` (the web config file's directory)."""
    tls = parsed.tls_server_config
    resolved = tls.model_copy(
        update={
            "cert_file": _resolve(base, tls.cert_file),
            "key_file": _resolve(base, tls.key_file),
            "client_ca_file": _resolve(base, tls.client_ca_file),
        }
    )
    return parsed.model_copy(update={"tls_server_config": resolved})

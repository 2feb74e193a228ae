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
from exporter.schema.types import Flag
from exporter.schema.yaml_env import load_yaml_mapping
from exporter.web.tls_config import TlsServerConfig

# exporter-toolkit's list: only these headers, and for two of them only these values.
HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
_BCRYPT = re.compile(r"^\$2[abxy]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$")


class HttpServerConfig(BaseModel):
    """`http_server_config`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http2: Flag = True
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
        return hash_problems(
            {user: hashed.get_secret_value() for user, hashed in self.basic_auth_users.items()}
        )


def hash_problems(users: Mapping[Any, Any]) -> list[str]:
    """One problem per user whose (text) password is not a bcrypt hash; the value is never
    shown. Also run on the raw file when another key fails, so both are reported at once."""
    return [
        f"basic_auth_users.{user}: invalid value '***': expected a bcrypt hash like "
        "$2y$10$... (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')"
        for user, hashed in users.items()
        if isinstance(hashed, str) and not _BCRYPT.match(hashed)
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
        errors = exc.errors()
        problems = [describe_error(e, secret=_is_secret, model=WebConfigFile) for e in errors]
        users = data.get("basic_auth_users")
        if isinstance(users, dict) and not any(e["loc"][0] == "basic_auth_users" for e in errors):
            problems += hash_problems(users)
        raise ConfigError(source, problems) from None
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

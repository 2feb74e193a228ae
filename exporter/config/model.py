"""The application config model: the HTTP server, defaults for every collector, the collectors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from exporter.collectors.base import MIN_INTERVAL, CollectorConfig
from exporter.schema.addresses import split_host_port
from exporter.schema.types import Duration
from exporter.web.paths import DEFAULT_TELEMETRY_PATH, check_telemetry_path

DEFAULT_LISTEN = "0.0.0.0:9876"
DEFAULT_OPEN_PATHS = ("/live", "/ready", "/healthz")


def parse_listen(value: str) -> tuple[str, int]:
    """(host, port) to listen on; an empty host (`:9876`) means every interface."""
    return split_host_port(value, default_host="0.0.0.0")


class ServerConfig(BaseModel):
    """The HTTP server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = DEFAULT_LISTEN
    web_config_file: str | None = None
    """exporter-toolkit web-config.yml (TLS, basic auth); `--web.config.file` overrides it."""
    telemetry_path: str = DEFAULT_TELEMETRY_PATH
    """Path the metrics are served on; `--web.telemetry-path` overrides it."""
    unauthenticated_paths: tuple[str, ...] = DEFAULT_OPEN_PATHS
    """Paths served without basic auth (kubelet probes)."""
    collector_isolation: Literal["process", "thread"] = "thread"
    """thread: all collectors share the server's process (one interpreter, half the memory);
    process: each collector refreshes in a child process of its own, so scrapes do not wait for
    a refresh's Python work and a crashed collector is restarted."""

    @field_validator("listen", mode="before")
    @classmethod
    def _listen_is_text(cls, value: object) -> object:
        """`listen: 9876` reads as a number: say what to write instead."""
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(
                f"expected HOST:PORT as text, e.g. ':{value}' (every interface) or "
                f"'127.0.0.1:{value}'"
            )
        return value

    @field_validator("listen")
    @classmethod
    def _listen_is_host_port(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("telemetry_path")
    @classmethod
    def _telemetry_path_is_servable(cls, value: str) -> str:
        return check_telemetry_path(value)

    @field_validator("unauthenticated_paths")
    @classmethod
    def _paths_are_absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not path.startswith("/"):
                raise ValueError(f"path {path!r} must start with /")
            if "?" in path or "*" in path:
                raise ValueError(
                    f"path {path!r}: paths match exactly; a query (?) or wildcard (*) never matches"
                )
        return value


class Defaults(BaseModel):
    """Values every collector inherits unless it sets its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: Duration = 30.0
    timeout: Duration | None = None
    """None: 10s, or 80% of the interval when the interval is shorter than 12.5s."""

    @field_validator("interval")
    @classmethod
    def _interval_not_too_short(cls, value: float) -> float:
        if value < MIN_INTERVAL:
            raise ValueError(f"must be at least {MIN_INTERVAL * 1000:g}ms")
        return value


class AppConfig(BaseModel):
    """The whole validated configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: ServerConfig = Field(default_factory=ServerConfig)
    defaults: Defaults = Field(default_factory=Defaults)
    collectors: list[CollectorConfig] = Field(default_factory=list)

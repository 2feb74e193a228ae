"""Load the YAML config: parse, substitute `${VAR}` from the environment, validate, fill defaults.

Every problem is collected with the file name, the key path and the offending value (secrets
masked), so a user sees all of them at once in a `ConfigError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from exporter.collectors import kind_names, kind_of
from exporter.collectors.base import CollectorConfig
from exporter.durations import Duration

DEFAULT_LISTEN = "0.0.0.0:9876"
DEFAULT_TIMEOUT = 10.0
DEFAULT_OPEN_PATHS = ("/live", "/ready")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")
_SECRET_KEY = re.compile(r"password|secret|token|access_key", re.IGNORECASE)
# Unknown keys are often misspelt secrets (`pasword`, `acess_key_secret`): mask more eagerly.
_MAYBE_SECRET_KEY = re.compile(r"pa?s+w|secret|token|key|cred|auth|pwd", re.IGNORECASE)


class ConfigError(Exception):
    """The config is invalid; `problems` lists every finding, each naming key and value."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def parse_listen(value: str) -> tuple[str, int]:
    """Split `HOST:PORT` (IPv6 as `[::]:PORT`); raise ValueError otherwise."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected HOST:PORT, e.g. 0.0.0.0:9876")
    return host.strip("[]") or "0.0.0.0", int(port)


class ServerConfig(BaseModel):
    """The HTTP server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = DEFAULT_LISTEN
    web_config_file: str | None = None
    """exporter-toolkit web-config.yml (TLS, basic auth); `--web.config.file` overrides it."""
    unauthenticated_paths: tuple[str, ...] = DEFAULT_OPEN_PATHS
    """Paths served without basic auth (kubelet probes)."""

    @field_validator("listen")
    @classmethod
    def _listen_is_host_port(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("unauthenticated_paths")
    @classmethod
    def _paths_are_absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not path.startswith("/"):
                raise ValueError(f"path {path!r} must start with /")
        return value


class Defaults(BaseModel):
    """Values every collector inherits unless it sets its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: Duration = 30.0
    timeout: Duration | None = None
    """None: 10s, or 80% of the interval when the interval is shorter than 12.5s."""


class AppConfig(BaseModel):
    """The whole validated configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: ServerConfig = Field(default_factory=ServerConfig)
    defaults: Defaults = Field(default_factory=Defaults)
    collectors: list[CollectorConfig] = Field(default_factory=list)


def mask(key: str, value: Any) -> str:
    """Show `value` for messages, hiding it when `key` names a secret."""
    if _SECRET_KEY.search(key) and value not in (None, ""):
        return "'***'"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _path(parts: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def substitute_env(
    node: Any, env: Mapping[str, str], path: tuple[Any, ...], problems: list[str]
) -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of the parsed tree."""
    if isinstance(node, dict):
        return {k: substitute_env(v, env, (*path, k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute_env(v, env, (*path, i), problems) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(f"{_path(path)}: environment variable {name} is not set (value {node!r})")
        return ""

    return _ENV_REF.sub(replace, node)


def _describe(error: Mapping[str, Any], prefix: tuple[Any, ...]) -> str:
    loc = (*prefix, *error["loc"])
    key = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
    where = _path(loc)
    if error["type"] == "extra_forbidden":
        shown = "'***'" if _MAYBE_SECRET_KEY.search(key) else mask(key, error["input"])
        return f"{where}: unknown key (value {shown})"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(error["input"], dict):  # a rule across keys: name the place, not every value
        return f"{where}: {message}"
    return f"{where}: invalid value {mask(key, error['input'])}: {message}"


def _validate_collector(
    raw: Any, index: int, defaults: Defaults, problems: list[str]
) -> CollectorConfig | None:
    prefix: tuple[Any, ...] = ("collectors", index)
    if not isinstance(raw, dict):
        problems.append(f"{_path(prefix)}: expected a mapping with name and type, got {raw!r}")
        return None
    type_name = raw.get("type")
    kind = kind_of(type_name) if isinstance(type_name, str) else None
    if kind is None:
        expected = ", ".join(kind_names())
        problems.append(
            f"{_path((*prefix, 'type'))}: unknown collector type {type_name!r}; "
            f"expected one of: {expected}"
        )
        return None
    try:
        entry = kind.config_model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_describe(e, prefix) for e in exc.errors())
        return None
    interval = entry.interval or kind.default_interval or defaults.interval
    timeout = entry.timeout or defaults.timeout or min(DEFAULT_TIMEOUT, 0.8 * interval)
    if timeout >= interval:
        problems.append(
            f"{_path((*prefix, 'timeout'))}: invalid value {timeout:g}s: "
            f"must be shorter than the interval ({interval:g}s)"
        )
        return None
    stale_after = entry.stale_after or 3 * interval
    health = kind.default_health if entry.health is None else entry.health
    return entry.model_copy(
        update={
            "interval": interval,
            "timeout": timeout,
            "stale_after": stale_after,
            "health": health,
        }
    )


def load_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """Parse YAML whose top level must be a mapping (empty text is an empty mapping)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            source, [f"expected a mapping at the top level, got {type(data).__name__}"]
        )
    return data


def parse_config(
    text: str, source: str = "<config>", env: Mapping[str, str] | None = None
) -> AppConfig:
    """Validate config text; raise ConfigError listing every problem."""
    data = load_yaml_mapping(text, source)
    problems: list[str] = []
    data = substitute_env(data, os.environ if env is None else env, (), problems)

    raw_collectors = data.pop("collectors", None) or []
    if not isinstance(raw_collectors, list):
        problems.append(f"collectors: expected a list of collectors, got {raw_collectors!r}")
        raw_collectors = []
    try:
        base = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(e, ()) for e in exc.errors())
        base = AppConfig()

    collectors: list[CollectorConfig] = []
    seen: dict[object, int] = {}
    for index, raw in enumerate(raw_collectors):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(
                f"collectors[{index}].name: duplicate name {name!r} (also collectors[{seen[name]}])"
            )
            continue
        seen.setdefault(name, index)
        entry = _validate_collector(raw, index, base.defaults, problems)
        if entry is not None:
            collectors.append(entry)
    if not raw_collectors and not problems:
        problems.append("collectors: no collectors configured; add at least one")
    if problems:
        raise ConfigError(source, problems)
    return base.model_copy(update={"collectors": collectors})


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read and validate the config file at `path`.

    A relative `server.web_config_file` is resolved against the config file's directory.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    config = parse_config(text, str(path), env)
    web_file = config.server.web_config_file
    if web_file and not Path(web_file).is_absolute():
        server = config.server.model_copy(
            update={"web_config_file": str(Path(path).resolve().parent / web_file)}
        )
        config = config.model_copy(update={"server": server})
    return config

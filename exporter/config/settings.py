"""The config file and the web config it names, loaded together: every problem of both files is
reported in one run (a broken config file does not hide the web config's problems)."""

from __future__ import annotations

from pathlib import Path

from exporter.config.loader import load_config
from exporter.config.model import AppConfig
from exporter.schema.errors import ConfigError
from exporter.schema.yaml_env import load_yaml_mapping, read_config_text
from exporter.web.config import WebSettings
from exporter.web.loader import web_settings_for


def _named_web_config(path: str | Path) -> str | None:
    """`server.web_config_file` as written in a config file that failed validation (relative to
    the file's directory), when it is plain text without `${...}`."""
    try:
        data = load_yaml_mapping(read_config_text(path), str(path))
    except ConfigError:
        return None
    server = data.get("server")
    name = server.get("web_config_file") if isinstance(server, dict) else None
    if not isinstance(name, str) or not name or "${" in name:
        return None
    return name if Path(name).is_absolute() else str(Path(path).resolve().parent / name)


def load_settings(path: str | Path, web_override: str | None) -> tuple[AppConfig, WebSettings]:
    """The validated config and web config (`web_override`: `--web.config.file`); one
    ConfigError holding the problems of both files otherwise."""
    config: AppConfig | None = None
    errors: list[ConfigError] = []
    try:
        config = load_config(path)
        web_file = config.server.web_config_file
    except ConfigError as error:
        errors.append(error)
        web_file = _named_web_config(path)
    web: WebSettings | None = None
    try:
        web = web_settings_for(web_file, web_override)
    except ConfigError as error:
        errors.append(error)
    if errors:
        first, *others = errors
        raise ConfigError(first.source, first.problems, (*first.others, *others))
    assert config is not None and web is not None
    return config, web

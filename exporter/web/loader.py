"""Read a web-config.yml from disk into WebSettings: validated settings plus the TLS context."""

from __future__ import annotations

from pathlib import Path

from exporter.schema.yaml_env import read_config_text
from exporter.web.config import NO_WEB_CONFIG, WebSettings, parse_web_config, resolve_paths
from exporter.web.tls import build_ssl_context


def load_web_config(path: str | Path) -> WebSettings:
    """Read, validate and build the web config at `path`; ConfigError on any problem."""
    source = str(path)
    text = read_config_text(path, "web config file")
    parsed = resolve_paths(parse_web_config(text, source), Path(path).resolve().parent)
    tls = parsed.tls_server_config
    context = build_ssl_context(tls, source) if tls.enabled else None
    return WebSettings(source, parsed, context)


def web_settings_for(configured: str | None, override: str | None) -> WebSettings:
    """The web config named by `--web.config.file` (`override`) or `server.web_config_file`
    (`configured`); plain HTTP without auth when neither names one."""
    path = override or configured
    return load_web_config(path) if path else NO_WEB_CONFIG

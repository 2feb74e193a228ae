"""Read a web-config.yml from disk into WebSettings: validated settings plus the TLS context."""

from __future__ import annotations

from pathlib import Path

from exporter.config import ConfigError
from exporter.web_config import WebSettings, parse_web_config, resolve_paths
from exporter.web_tls import build_ssl_context


def load_web_config(path: str | Path) -> WebSettings:
    """Read, validate and build the web config at `path`; ConfigError on any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [f"cannot read the web config file: {exc.strerror}"]) from None
    parsed = resolve_paths(parse_web_config(text, source), Path(path).resolve().parent)
    tls = parsed.tls_server_config
    context = build_ssl_context(tls, source) if tls.enabled else None
    return WebSettings(source, parsed, context)

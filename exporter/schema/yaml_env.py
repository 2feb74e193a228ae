"""YAML documents whose top level is a mapping, and `${VAR}` / `${VAR:-default}` substitution in
every string of the parsed tree."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from exporter.schema.errors import ConfigError, key_path

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


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
        problems.append(
            f"{key_path(path)}: environment variable {name} is not set (value {node!r})"
        )
        return ""

    return _ENV_REF.sub(replace, node)

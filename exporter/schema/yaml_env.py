"""YAML documents whose top level is a mapping, read within the limits of `yaml_limits`, and
`${VAR}` / `${VAR:-default}` substitution in every string of the parsed tree (`$${` is a literal
`${`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from exporter.schema.errors import ConfigError, key_path, mask
from exporter.schema.yaml_limits import (
    MAX_DOCUMENT_BYTES,
    YamlLimitError,
    describe_yaml_error,
    safe_load_limited,
)

_REF_START = re.compile(r"\$(\$?)\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_config_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of the file at `path`; ConfigError when it cannot be read, is larger than
    MAX_DOCUMENT_BYTES, is not UTF-8 (UTF-16 included) or holds NUL bytes (a binary file)."""
    source = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise ConfigError(source, [f"cannot read the {what}: {exc.strerror}"]) from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
        raise ConfigError(source, [f"the {what} is larger than {limit} MiB"])
    if b"\0" in raw:
        where = raw.index(b"\0")
        raise ConfigError(
            source, [f"the {what} is not text: NUL byte at offset {where} (binary or UTF-16?)"]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            source,
            [f"the {what} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}"],
        ) from None


def load_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """Parse YAML whose top level must be a mapping (empty text is an empty mapping)."""
    try:
        data = safe_load_limited(text)
    except YamlLimitError as exc:
        raise ConfigError(source, [f"YAML document rejected: {exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {describe_yaml_error(exc)}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            source, [f"expected a mapping at the top level, got {type(data).__name__}"]
        )
    return data


def _expand(text: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    """`text` with its references replaced, and the first problem found (None: none)."""
    out: list[str] = []
    position = 0
    while match := _REF_START.search(text, position):
        out.append(text[position : match.start()])
        position = match.end()
        if match.group(1):  # `$${` is a literal `${`
            out.append("${")
            continue
        end = text.find("}", position)
        if end < 0:
            return "", "unterminated ${ (no closing })"
        body = text[position:end]
        position = end + 1
        name, sep, default = body.partition(":-")
        if "${" in body:
            return "", "nested ${...} references are not supported (write $${ for a literal ${)"
        if not name:
            return "", "empty variable name in ${}"
        if not _NAME.fullmatch(name):
            return "", f"invalid variable name {name!r} in ${{...}}"
        if name in env:
            out.append(env[name])
        elif sep:
            out.append(default)
        else:
            return "", f"environment variable {name} is not set"
    out.append(text[position:])
    return "".join(out), None


def substitute_env(
    node: Any,
    env: Mapping[str, str],
    path: tuple[Any, ...],
    problems: list[str],
    failed: set[tuple[Any, ...]] | None = None,
) -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of the parsed tree; `$${` stays a
    literal `${`. A malformed reference is a problem naming the key (secret values masked), and
    its location is added to `failed`: the value left there ("") is not the user's, so checks of
    it are not reported again."""
    if isinstance(node, dict):
        return {k: substitute_env(v, env, (*path, k), problems, failed) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute_env(v, env, (*path, i), problems, failed) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node
    result, problem = _expand(node, env)
    if problem is not None:
        key = str(next((p for p in reversed(path) if isinstance(p, str)), ""))
        problems.append(f"{key_path(path)}: {problem} (value {mask(key, node)})")
        if failed is not None:
            failed.add(path)
    return result

"""Load the YAML config: parse, substitute `${VAR}` from the environment, validate every collector
against its kind's model (which fills the kind's and the file's defaults), all in one pass.

Every problem is collected with the file name, the key path and the offending value (secrets
masked), so a user sees all of them at once in a `ConfigError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from exporter.collectors.base import CollectorConfig
from exporter.collectors.registry import config_model, kind_names
from exporter.config.cross_checks import check_collectors
from exporter.config.model import AppConfig, Defaults
from exporter.schema.errors import ConfigError, describe_error, key_path, mask
from exporter.schema.suggest import closest
from exporter.schema.yaml_env import load_yaml_mapping, read_config_text, substitute_env


def _substituted(loc: tuple[Any, ...], failed: set[tuple[Any, ...]]) -> bool:
    """True when `loc` is at or under a value whose `${VAR}` could not be substituted (already
    reported: a check of the empty stand-in would only repeat it, wrongly)."""
    return any(loc[: len(path)] == path for path in failed)


def _validate_collector(
    raw: Any,
    index: int,
    defaults: Defaults,
    problems: list[str],
    failed: set[tuple[Any, ...]],
) -> CollectorConfig | None:
    prefix: tuple[Any, ...] = ("collectors", index)
    if not isinstance(raw, dict):
        shown = mask("", raw)
        problems.append(f"{key_path(prefix)}: expected a mapping with name and type, got {shown}")
        return None
    type_name = raw.get("type")
    model = config_model(type_name) if isinstance(type_name, str) else None
    if model is None:
        if _substituted((*prefix, "type"), failed):
            return None
        expected = ", ".join(kind_names())
        near = closest(type_name, kind_names()) if isinstance(type_name, str) else None
        hint = f"did you mean {near!r}? " if near else ""
        problems.append(
            f"{key_path((*prefix, 'type'))}: unknown collector type {type_name!r}; "
            f"{hint}expected one of: {expected}"
        )
        return None
    try:
        entry = model.model_validate(raw, context={"defaults": defaults})
    except ValidationError as exc:
        problems.extend(
            describe_error(e, prefix, model=model)
            for e in exc.errors()
            if not _substituted((*prefix, *e["loc"]), failed)
        )
        return None
    if entry.stale_after < entry.interval:
        problems.append(
            f"{key_path((*prefix, 'stale_after'))}: invalid value {entry.stale_after:g}s: "
            f"must not be shorter than the interval ({entry.interval:g}s)"
        )
        return None
    if entry.timeout >= entry.interval:
        problems.append(
            f"{key_path((*prefix, 'timeout'))}: invalid value {entry.timeout:g}s: "
            f"must be shorter than the interval ({entry.interval:g}s)"
        )
        return None
    return entry


def parse_config(
    text: str, source: str = "<config>", env: Mapping[str, str] | None = None
) -> AppConfig:
    """Validate config text; raise ConfigError listing every problem."""
    data = load_yaml_mapping(text, source)
    problems: list[str] = []
    failed: set[tuple[Any, ...]] = set()
    data = substitute_env(data, os.environ if env is None else env, (), problems, failed)

    raw_collectors = data.pop("collectors", None) or []
    if not isinstance(raw_collectors, list):
        problems.append(
            f"collectors: expected a list of collectors, got {mask('', raw_collectors)}"
        )
        raw_collectors = []
    try:
        base = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(
            describe_error(e, model=AppConfig)
            for e in exc.errors()
            if not _substituted(tuple(e["loc"]), failed)
        )
        base = AppConfig()

    collectors: list[CollectorConfig] = []
    indexed: list[tuple[int, CollectorConfig]] = []
    seen: dict[object, int] = {}
    for index, raw in enumerate(raw_collectors):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(
                f"collectors[{index}].name: duplicate name {name!r} (also collectors[{seen[name]}])"
            )
            continue
        if isinstance(name, str):
            seen.setdefault(name, index)
        entry = _validate_collector(raw, index, base.defaults, problems, failed)
        if entry is not None:
            collectors.append(entry)
            indexed.append((index, entry))
    problems.extend(check_collectors(indexed))
    if not raw_collectors and not problems:
        problems.append("collectors: no collectors configured; add at least one")
    if problems:
        raise ConfigError(source, problems)
    return base.model_copy(update={"collectors": collectors})


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> AppConfig:
    """Read and validate the config file at `path`.

    A relative `server.web_config_file` is resolved against the config file's directory.
    """
    text = read_config_text(path)
    config = parse_config(text, str(path), env)
    web_file = config.server.web_config_file
    if web_file and not Path(web_file).is_absolute():
        server = config.server.model_copy(
            update={"web_config_file": str(Path(path).resolve().parent / web_file)}
        )
        config = config.model_copy(update={"server": server})
    return config

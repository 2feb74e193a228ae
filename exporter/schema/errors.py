"""Config errors: every problem with the file name, the key path and the value, secrets masked.

One formatter for pydantic's findings (`describe_error`), used by the main config, each kind's
entries and the web config alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_SECRET_KEY = re.compile(r"password|secret|token|access_key", re.IGNORECASE)
# Unknown keys are often misspelt secrets (`pasword`, `acess_key_secret`): mask more eagerly.
_MAYBE_SECRET_KEY = re.compile(r"pa?s+w|secret|token|key|cred|auth|pwd", re.IGNORECASE)


class ConfigError(Exception):
    """The config is invalid; `problems` lists every finding, each naming key and value."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def _hide_secrets(value: Any, depth: int = 0) -> Any:
    """`value` with everything under a secret-looking key of nested mappings replaced."""
    if depth > 20:
        return "..."
    if isinstance(value, dict):
        return {
            k: "***" if _MAYBE_SECRET_KEY.search(str(k)) else _hide_secrets(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_hide_secrets(v, depth + 1) for v in value]
    return value


def mask(key: str, value: Any) -> str:
    """Show `value` for messages, hiding it when `key` names a secret (and, inside a mapping or
    list, every value under a secret-looking key)."""
    if _SECRET_KEY.search(key) and value not in (None, ""):
        return "'***'"
    text = repr(_hide_secrets(value))
    return text if len(text) <= 120 else text[:117] + "..."


def key_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """`collectors[0].groups.include[1]` from the parts of a location."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_error(
    error: Mapping[str, Any],
    prefix: tuple[Any, ...] = (),
    secret: Callable[[tuple[Any, ...]], bool] | None = None,
) -> str:
    """One pydantic finding as `KEY.PATH: what is wrong (value ...)`; values of secret keys (and
    of locations `secret` says are secret) are masked."""
    loc = (*prefix, *error["loc"])
    key = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
    where = key_path(loc)
    if error["type"] == "extra_forbidden":
        shown = "'***'" if _MAYBE_SECRET_KEY.search(key) else mask(key, error["input"])
        return f"{where}: unknown key (value {shown})"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(error["input"], dict):  # a rule across keys: name the place, not every value
        return f"{where}: {message}"
    shown = "'***'" if secret is not None and secret(loc) else mask(key, error["input"])
    return f"{where}: invalid value {shown}: {message}"

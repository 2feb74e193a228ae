"""Config errors: every problem with the file name, the key path and the value, secrets masked.

One formatter for pydantic's findings (`describe_error`), used by the main config, each kind's
entries and the web config alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from exporter.schema.json_types import json_type
from exporter.schema.suggest import closest, keys_at

if TYPE_CHECKING:
    from pydantic import BaseModel

_SECRET_KEY = re.compile(r"password|secret|token|access_key", re.IGNORECASE)
# Unknown keys are often misspelt secrets (`pasword`, `acess_key_secret`): mask more eagerly.
_MAYBE_SECRET_KEY = re.compile(r"pa?s+w|secret|token|key|cred|auth|pwd", re.IGNORECASE)


class ConfigError(Exception):
    """The config is invalid; `problems` lists every finding, each naming key and value."""

    def __init__(
        self, source: str, problems: list[str], others: tuple[ConfigError, ...] = ()
    ) -> None:
        self.source = source
        self.problems = problems
        self.others = others
        """Errors of other files checked in the same run (the web config the file names)."""
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Every problem as `FILE: KEY.PATH: ...`, this file's first, then the others'."""
        own = [f"{self.source}: {p}" for p in self.problems]
        return own + [line for other in self.others for line in other.lines()]


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


_KINDS = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number, not a fraction",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list (`- item` lines, or [a, b])",
    "tuple_type": "expected a list (`- item` lines, or [a, b])",
    "set_type": "expected a list (`- item` lines, or [a, b])",
    "dict_type": "expected a mapping (`key: value` lines, or {key: value})",
    "model_type": "expected a mapping (`key: value` lines, or {key: value})",
    "model_attributes_type": "expected a mapping (`key: value` lines, or {key: value})",
}
"""Pydantic's type errors in plain words (its own say "Input should be a valid string")."""
_BOUNDS = {
    "greater_than_equal": ("ge", "expected at least {}"),
    "greater_than": ("gt", "expected more than {}"),
    "less_than_equal": ("le", "expected at most {}"),
    "less_than": ("lt", "expected less than {}"),
    "string_too_short": ("min_length", "expected at least {} character(s)"),
    "string_too_long": ("max_length", "expected at most {} character(s)"),
    "too_short": ("min_length", "expected at least {} item(s)"),
    "too_long": ("max_length", "expected at most {} item(s)"),
}


_USER_WORDS = {
    "boolean": "true/false",
    "number": "a number",
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}
"""A value's JSON type in the words a config's reader knows."""


def _type_name(value: Any) -> str:
    kind = json_type(value)
    return _USER_WORDS.get(kind, kind)


def plain_message(error: Mapping[str, Any]) -> str:
    """What a pydantic finding means, in words a user of the YAML file knows."""
    kind, given, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in _KINDS:
        text = f"{_KINDS[kind]}, got {_type_name(given)}"
        if (
            kind == "string_type"
            and isinstance(given, (int, float))
            and not isinstance(given, bool)
        ):
            text += f" (quote it: '{given}')"
        return text
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        field, template = _BOUNDS[kind]
        return template.format(ctx[field])
    if kind == "literal_error" and "expected" in ctx:
        return f"expected one of {ctx['expected']}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return (
        "expected " + message.removeprefix("Input should be ")
        if message.startswith("Input should be ")
        else message
    )


def describe_error(
    error: Mapping[str, Any],
    prefix: tuple[Any, ...] = (),
    secret: Callable[[tuple[Any, ...]], bool] | None = None,
    model: type[BaseModel] | None = None,
) -> str:
    """One pydantic finding as `KEY.PATH: what is wrong (value ...)`; values of secret keys (and
    of locations `secret` says are secret) are masked. With the `model` validated, an unknown
    key gets the closest key that model accepts there ("did you mean")."""
    loc = (*prefix, *error["loc"])
    key = str(next((p for p in reversed(loc) if isinstance(p, str)), ""))
    where = key_path(loc)
    if error["type"] == "extra_forbidden":
        shown = "'***'" if _MAYBE_SECRET_KEY.search(key) else mask(key, error["input"])
        near = closest(key, keys_at(model, error["loc"][:-1])) if model is not None else None
        hint = f"; did you mean {near!r}?" if near else ""
        return f"{where}: unknown key (value {shown}){hint}"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    message = plain_message(error)
    if isinstance(error["input"], dict):  # a rule across keys: name the place, not every value
        return f"{where}: {message}"
    shown = "'***'" if secret is not None and secret(loc) else mask(key, error["input"])
    return f"{where}: invalid value {shown}: {message}"

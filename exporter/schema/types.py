"""Value types shared by every config model: durations, metric names and
include/exclude name filters (full-match regular expressions with RE2 semantics: matching takes
time linear in the name, so a pattern like `(a+)+$` cannot freeze the exporter; backreferences
and lookarounds, which RE2 cannot express, are config errors)."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated

import re2
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from exporter.schema.durations import parse_duration

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error is reported as a config error instead

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A positive duration in seconds, written `500ms`, `30s`, `5m`, `1h` or a number."""


_FLAG_WORDS = {"true": True, "false": False}


def _strict_flag(value: object) -> object:
    """true or false only: YAML's own booleans, or the text `true`/`false` a `${VAR}` gives.
    `"yes"`, `1` or `on` in quotes would pass pydantic's lax bool; here they are errors."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _FLAG_WORDS:
        return _FLAG_WORDS[value.strip().lower()]
    given = "a number" if isinstance(value, (int, float)) else f"{type(value).__name__}"
    if isinstance(value, str):
        given = "text (quoted)"
    raise ValueError(f"expected true or false (unquoted), got {given}")


Flag = Annotated[bool, BeforeValidator(_strict_flag)]
"""A strict boolean: true/false, never 1, "yes" or "on"."""


def _check_metric_name(value: str) -> str:
    if not _METRIC_NAME.match(value):
        raise ValueError("expected a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    return value


MetricName = Annotated[str, AfterValidator(_check_metric_name)]
"""A valid Prometheus metric name."""


def _compile(pattern: str) -> re2._Regexp:
    return re2.compile(pattern, _RE2_OPTIONS)


def _check_regex(value: str) -> str:
    try:
        _compile(value)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args else str(exc)
        raise ValueError(
            f"not a valid regular expression: {reason} (RE2 syntax: no backreferences "
            "or lookarounds)"
        ) from None
    return value


Regex = Annotated[str, AfterValidator(_check_regex)]
"""A regular expression in RE2 syntax (linear-time matching)."""


class NameFilter(BaseModel):
    """A name matches when it full-matches one `include` pattern and no `exclude` pattern."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    include: list[Regex] = Field(default_factory=lambda: [".*"])
    exclude: list[Regex] = Field(default_factory=list)

    @model_validator(mode="after")
    def _patterns_compile_together(self) -> NameFilter:
        try:  # each compiles alone; together they may exceed RE2's memory budget
            _ = self._include, self._exclude
        except re2.error:
            raise ValueError("the patterns together are too large for RE2; simplify them") from None
        return self

    @cached_property
    def _include(self) -> re2._Regexp | None:
        return _compile("|".join(f"(?:{p})" for p in self.include)) if self.include else None

    @cached_property
    def _exclude(self) -> re2._Regexp | None:
        return _compile("|".join(f"(?:{p})" for p in self.exclude)) if self.exclude else None

    def matches(self, name: str) -> bool:
        """True when `name` passes the filter."""
        if self._include is None or not self._include.fullmatch(name):
            return False
        return not (self._exclude and self._exclude.fullmatch(name))

"""Include/exclude name filters made of full-match regular expressions."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


Regex = Annotated[str, AfterValidator(_check_regex)]


class NameFilter(BaseModel):
    """A name matches when it full-matches one `include` pattern and no `exclude` pattern."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    include: list[Regex] = Field(default_factory=lambda: [".*"])
    exclude: list[Regex] = Field(default_factory=list)

    @cached_property
    def _include(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.include) or "(?!)")

    @cached_property
    def _exclude(self) -> re.Pattern[str] | None:
        return re.compile("|".join(f"(?:{p})" for p in self.exclude)) if self.exclude else None

    def matches(self, name: str) -> bool:
        """True when `name` passes the filter."""
        if not self._include.fullmatch(name):
            return False
        return not (self._exclude and self._exclude.fullmatch(name))

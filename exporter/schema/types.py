"""Value types shared by every config model: durations, host:port addresses, metric names and
include/exclude name filters (full-match regular expressions)."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from exporter.schema.addresses import split_host_port
from exporter.schema.durations import parse_duration

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A positive duration in seconds, written `500ms`, `30s`, `5m`, `1h` or a number."""


def _check_host_port(value: str) -> str:
    split_host_port(value)
    return value


HostPort = Annotated[str, AfterValidator(_check_host_port)]
"""`HOST:PORT` with a port from 1 to 65535 (IPv6 as `[::1]:PORT`)."""


def _check_metric_name(value: str) -> str:
    if not _METRIC_NAME.match(value):
        raise ValueError("expected a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    return value


MetricName = Annotated[str, AfterValidator(_check_metric_name)]
"""A valid Prometheus metric name."""


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

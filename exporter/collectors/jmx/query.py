"""What a JMX read asks (`Query`, at an `Endpoint`) and answers (`Reading`, or `JmxError`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class JmxError(Exception):
    """The JVM could not be read: refused, not answering, authentication failed, or bad output."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect."""

    url: str
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Query:
    """A named attribute (optionally one item of a CompositeData) of the MBeans matching a name."""

    object_name: str
    attribute: str
    key: str | None = None


@dataclass(frozen=True)
class Reading:
    """One attribute value as the bridge reported it. `value` is None when unreadable (e.g. an enum
    class the client does not have) and `type` is then "Null"."""

    object_name: str
    attribute: str
    key: str | None
    type: str
    value: Any

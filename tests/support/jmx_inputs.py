"""Inputs for the jmx collector's unit tests: a parsed config from YAML text, and readings as the
query returns them (`jmx_reading`, on the bean names `CLIENT` and `COUNT`)."""

from __future__ import annotations

from exporter.collectors.jmx.config import JmxConfig
from exporter.collectors.jmx.query import Reading
from exporter.config.loader import parse_config

CLIENT = "kafka.streams:type=stream-metrics,client-id=app-1"
COUNT = "kafka.streams:type=kafka-metrics-count"


def parse_jmx_config(text: str, env: dict[str, str] | None = None) -> JmxConfig:
    """The first collector of config `text`, which must be a jmx one."""
    config = parse_config(text, "test.yaml", env or {})
    entry = config.collectors[0]
    assert isinstance(entry, JmxConfig)
    return entry


def jmx_reading(name: str, attribute: str, value: object) -> Reading:
    """One attribute reading as the query JAR reports it (a null value has type Null)."""
    return Reading(name, attribute, None, "Null" if value is None else "X", value)

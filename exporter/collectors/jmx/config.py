"""Config model of the `jmx` collector kind: one JVM (a Kafka Streams app) to watch over JMX."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from exporter.collectors.base import CollectorConfig
from exporter.schema.durations import format_duration
from exporter.schema.types import Duration, MetricName

RESERVED_PREFIX = "kafka_streams_"


class BeanGauge(BaseModel):
    """One extra gauge read from a named attribute of an exact MBean."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    object_name: str
    attribute: str
    key: str | None = None
    """Item of a CompositeData attribute, e.g. `used` of java.lang:type=Memory HeapMemoryUsage."""
    name: MetricName
    help: str | None = None

    @field_validator("object_name")
    @classmethod
    def _exact_object_name(cls, value: str) -> str:
        domain, sep, props = value.partition(":")
        if not sep or not domain or "=" not in props:
            raise ValueError(
                "expected an MBean object name like kafka.consumer:type=...,client-id=..."
            )
        if any(c in value for c in "*?"):
            raise ValueError("expected an exact object name, without * or ? patterns")
        if ";" in value:
            raise ValueError("';' is not allowed in an object name")
        return value

    @field_validator("attribute", "key")
    @classmethod
    def _plain_attribute(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in "/;*")):
            raise ValueError("expected a single attribute name (no / ; or *)")
        return value


class JmxConfig(CollectorConfig):
    """A JVM exposing Kafka Streams MBeans over remote JMX (RMI)."""

    default_interval: ClassVar[float | None] = 15.0
    default_health: ClassVar[bool] = True
    reserved_labels: ClassVar[frozenset[str]] = frozenset(
        {"client_id", "collector", "state", "target", "type"}
    )
    """Labels of the kind's catalogue (MetricSpec.labels) and the self-metrics'."""
    family_names: ClassVar[frozenset[str]] = frozenset(
        {"kafka_streams_kafka_metrics_count_count", "kafka_streams_alive", "kafka_streams_state"}
        | {"kafka_streams_alive_stream_threads"}
    )

    type: Literal["jmx"]
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    service_url: str | None = None
    username: str | None = None
    password: str | None = None
    unreachable_grace: Duration = 60.0
    beans: list[BeanGauge] = Field(default_factory=list)

    @field_validator("username", "password", "service_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `${JMX_USER:-}` substitutes an empty string: that means "not set".
        return None if value == "" else value

    @field_validator("service_url")
    @classmethod
    def _service_url_form(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("service:jmx:"):
            raise ValueError(
                "expected a JMX service URL like service:jmx:rmi:///jndi/rmi://host:port/jmxrmi"
            )
        return value

    @model_validator(mode="after")
    def _one_address(self) -> JmxConfig:
        if self.service_url is None and self.port is None:
            raise ValueError("set port (with host) or service_url")
        if self.service_url is not None and self.port is not None:
            raise ValueError("set either port (with host) or service_url, not both")
        if self.password is not None and self.username is None:
            raise ValueError("password is set but username is not")
        names = [bean.name for bean in self.beans]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"beans: metric name {name!r} is used twice")
            if name.startswith(RESERVED_PREFIX):
                raise ValueError(
                    f"beans: metric name {name!r} uses the reserved prefix kafka_streams_"
                )
        return self

    def named_families(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Each extra bean's gauge, at `beans[i].name`."""
        return [(("beans", i, "name"), bean.name) for i, bean in enumerate(self.beans)]

    @property
    def url(self) -> str:
        """The JMX service URL to connect to."""
        if self.service_url is not None:
            return self.service_url
        return service_url_for(self.host, self.port or 0)

    def summary(self) -> str:
        """One line for `check-config`."""
        auth = f", user {self.username!r}" if self.username else ""
        return (
            f"{super().summary()}; JMX {self.url}{auth}, unreachable grace "
            f"{format_duration(self.unreachable_grace)}, {len(self.beans)} extra bean(s)"
        )


def service_url_for(host: str, port: int) -> str:
    """The usual RMI service URL of a JVM started with -Dcom.sun.management.jmxremote.port."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"service:jmx:rmi:///jndi/rmi://{host}:{port}/jmxrmi"

"""The registry of collector kinds: the only place that knows every kind by name.

A kind is two dotted names, imported when first needed: its config model (what the config loader
validates an entry with; a small module that imports no client library) and its collector class
(what the daemon builds, with the kind's SDK). Adding a kind means writing its package and adding
one line to `_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exporter.collectors.base import Collector, CollectorConfig


@dataclass(frozen=True)
class Kind:
    """Where a kind's config model and collector class live, as `module:Name`."""

    config_model: str
    collector: str


_KINDS: dict[str, Kind] = {
    "kafka": Kind(
        "exporter.collectors.kafka.config:KafkaConfig",
        "exporter.collectors.kafka.collector:KafkaCollector",
    ),
    "jmx": Kind(
        "exporter.collectors.jmx.config:JmxConfig",
        "exporter.collectors.jmx.collector:JmxCollector",
    ),
    "aliyun_cms": Kind(
        "exporter.collectors.aliyun_cms.config:AliyunCmsConfig",
        "exporter.collectors.aliyun_cms.collector:AliyunCmsCollector",
    ),
}


def _load(dotted: str) -> Any:
    module, _, name = dotted.partition(":")
    return getattr(import_module(module), name)


def kind_names() -> list[str]:
    """Every registered `type` value."""
    return sorted(_KINDS)


def config_model(type_name: str) -> type[CollectorConfig] | None:
    """The config model of a `type` value, or None for an unknown type."""
    kind = _KINDS.get(type_name)
    return None if kind is None else _load(kind.config_model)


def collector_module(type_name: str) -> str:
    """The module defining a registered kind's collector class (to import ahead of use, e.g. in
    the fork server collector processes start from)."""
    return _KINDS[type_name].collector.partition(":")[0]


def collector_class(type_name: str) -> type[Collector[Any, Any]]:
    """The collector class of a registered `type` (imports the kind's client library)."""
    return _load(_KINDS[type_name].collector)


def build_collector(config: CollectorConfig) -> Collector[Any, Any]:
    """Instantiate the collector for a validated config entry."""
    return collector_class(config.type)(config)


def lazy_attribute(package: str, name: str, module: str) -> Callable[[str], Any]:
    """A module `__getattr__` for a kind's `package`: `name` (its collector class) is imported
    from `module` on first use, so importing the package for its config model loads no client
    library."""

    def __getattr__(attribute: str) -> Any:
        if attribute == name:
            return getattr(import_module(module), name)
        raise AttributeError(f"module {package!r} has no attribute {attribute!r}")

    return __getattr__

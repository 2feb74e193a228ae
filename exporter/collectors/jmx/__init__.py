"""The `jmx` collector kind: Kafka Streams health of one JVM, read over remote JMX.

`bridge` keeps one JMX client JVM (java/JmxBridge.java) and its connection across
refreshes, `query` holds what is asked and answered, `streams_beans` says what to ask and
reads the answers into a `state.StreamsReading` (with `object_names`), `verdict` judges it
alive or not and healthy or not, `metrics` makes the families; `collector` runs them.
`config` imports no client library: `JmxCollector` is imported from `collector` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter.collectors.registry import lazy_attribute

if TYPE_CHECKING:
    from exporter.collectors.jmx.collector import JmxCollector

__all__ = ["JmxCollector"]
__getattr__ = lazy_attribute(__name__, "JmxCollector", "exporter.collectors.jmx.collector")

"""The `kafka` collector kind: consumer-group lag and topic offsets of one cluster.

A refresh goes through four stages, one subpackage each: `read` (the cluster over the Kafka
protocol, into a `state.ClusterState`), `history` (what is kept between refreshes), `evaluate`
(lag in seconds and consumer status from the history) and `metrics` (the families); `collector`
runs them. `config` (with `lag_status_config`) and `state` import no client library:
`KafkaCollector` is imported from `collector` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter.collectors.registry import lazy_attribute

if TYPE_CHECKING:
    from exporter.collectors.kafka.collector import KafkaCollector

__all__ = ["KafkaCollector"]
__getattr__ = lazy_attribute(__name__, "KafkaCollector", "exporter.collectors.kafka.collector")

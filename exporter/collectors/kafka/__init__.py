"""The `kafka` collector kind: consumer-group lag and topic offsets of one cluster."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import Metric

from exporter.collectors.base import Collector
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.metrics import CATALOGUE, to_metrics
from exporter.collectors.kafka.reader import ClusterReader
from exporter.collectors.kafka.state import ClusterState


class KafkaCollector(Collector[KafkaConfig, ClusterState]):
    """Reads topics, watermarks and committed offsets of one Kafka cluster."""

    config_model = KafkaConfig
    catalogue = CATALOGUE

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__(config)
        self._reader = ClusterReader(config)

    async def fetch(self) -> ClusterState:
        """One refresh through the long-lived cluster reader."""
        return await self._reader.read()

    def to_metrics(self, fetched: ClusterState) -> Sequence[Metric]:
        """Metric families in kafka_exporter's names, with the `cluster` label."""
        cfg = self.config
        return to_metrics(fetched, cfg.cluster_label, cfg.labels, cfg.topic_metrics)

    async def close(self) -> None:
        """Close the Kafka client."""
        await self._reader.close()

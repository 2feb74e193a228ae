"""Reads one Kafka cluster with aiokafka's protocol client (filled in next)."""

from __future__ import annotations

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.state import ClusterState


class ClusterReader:
    """Long-lived connection to one cluster; `read()` does one refresh."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config

    async def read(self) -> ClusterState:
        """Read brokers, topics, watermarks, groups and committed offsets."""
        raise NotImplementedError

    async def close(self) -> None:
        """Close connections."""

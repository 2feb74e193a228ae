"""Which shard a sharded `kafka` collector is: one info series, so dashboards can tell the
replicas apart and check that every shard of a cluster is up."""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.shard import ShardConfig

SHARD_INFO = MetricSpec(
    "kafka_health_exporter_shard_info",
    "gauge",
    "Always 1: this collector reads the groups of shard `shard` of `shard_count` (shard 0 also "
    "reports the topic and broker series).",
    ("collector", "shard", "shard_count"),
)

CATALOGUE: tuple[MetricSpec, ...] = (SHARD_INFO,)


def to_metrics(collector: str, shard: ShardConfig | None, const: dict[str, str]) -> list[Metric]:
    """The info series of a sharded collector; nothing when it is not sharded."""
    info = SHARD_INFO.family(const)
    if shard is not None:
        info.add([collector, str(shard.index), str(shard.count)], 1)
    return build_families([info])

"""Three sharded exporters and one unsharded exporter on the same real Kafka 4.x cluster: the union
of the shards' series is the unsharded exporter's series, each from exactly one shard; topic and
broker series come from shard 0 only; each shard says which it is."""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.support.exporter_process import ExporterProcess, Samples, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit_many, create_topics, produce, unique

GROUPS = 30
SHARDS = 3


def _config(bootstrap: str, prefix: str, shard: str) -> str:
    return f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: lag
    type: kafka
    bootstrap_servers: "{bootstrap}"
    cluster: c-shard
    groups: {{include: ["{prefix}-g.*"]}}
    topics: {{include: ["{prefix}-t.*"]}}
    time_lag: {{method: "off"}}
{shard}
"""


def _kafka_series(samples: Samples) -> Samples:
    """The cluster's series (the exporter's own and its process's left out)."""
    return {
        key: v
        for key, v in samples.items()
        if key[0].startswith("kafka_") and not key[0].startswith("kafka_health_exporter")
    }


async def test_shards_partition_the_groups_and_union_to_one_exporter(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    prefix = unique("shard")
    topics = {f"{prefix}-t0": 3, f"{prefix}-t1": 2}
    await create_topics(kafka4.bootstrap, topics)
    for topic, partitions in topics.items():
        await produce(kafka4.bootstrap, topic, {p: 5 + p for p in range(partitions)}, batch=True)
    groups = {
        f"{prefix}-g{i:02d}": {(f"{prefix}-t{i % 2}", i % 2): 1 + i % 4} for i in range(GROUPS)
    }
    await commit_many(kafka4.bootstrap, groups)

    shard_configs = [
        "    shard:\n      count: 3\n      index: ${SHARD_INDEX}",  # an environment variable
        "    shard: {count: 3, index: 1}",
        '    shard: {count: 3, index: "kafka-health-exporter-2"}',  # a StatefulSet pod name
    ]
    with contextlib.ExitStack() as stack:
        shards = [
            stack.enter_context(
                ExporterProcess(
                    _config(kafka4.bootstrap, prefix, text), tmp_path, env={"SHARD_INDEX": "0"}
                )
            )
            for text in shard_configs
        ]
        whole = stack.enter_context(
            ExporterProcess(_config(kafka4.bootstrap, prefix, ""), tmp_path)
        )
        for exporter in [*shards, whole]:
            exporter.wait_ready()

        def every_group_seen() -> tuple[list[Samples], Samples]:
            parts = [_kafka_series(e.metrics()) for e in shards]
            full = _kafka_series(whole.metrics())
            members = [
                {dict(k[1])["consumergroup"] for k in s if k[0] == "kafka_consumergroup_lag"}
                for s in [*parts, full]
            ]
            assert set().union(*members[:SHARDS]) == members[SHARDS] == set(groups)
            # catch-up needs two refreshes of a group: compare once every exporter has them all
            rated = [
                {
                    dict(k[1])["consumergroup"]
                    for k in s
                    if k[0] == "kafka_consumergroup_catchup_seconds"
                }
                for s in [*parts, full]
            ]
            assert set().union(*rated[:SHARDS]) == rated[SHARDS] == set(groups)
            return parts, full

        parts, full = wait_for(every_group_seen, 30, what="every group in the shards' union")
        infos = [
            value(
                exporter.metrics(),
                "kafka_health_exporter_shard_info",
                collector="lag",
                shard=str(index),
                shard_count=str(SHARDS),
            )
            for index, exporter in enumerate(shards)
        ]
        assert infos == [1, 1, 1]
        assert not [k for k in whole.metrics() if k[0] == "kafka_health_exporter_shard_info"]

    union: Samples = {}
    for part in parts:
        twice = set(part) & set(union)
        assert not twice, f"series from two shards: {sorted(twice)[:5]}"
        union.update(part)
    assert union == full, {
        "only in the union": sorted(set(union) - set(full))[:5],
        "missing from the union": sorted(set(full) - set(union))[:5],
    }
    for index, part in enumerate(parts):
        names = {name for name, _ in part}
        owned = {dict(k[1])["consumergroup"] for k in part if k[0] == "kafka_consumergroup_lag"}
        assert owned, f"shard {index} got no group of {GROUPS}"
        has_cluster_series = {"kafka_brokers", "kafka_topic_partitions"} <= names
        assert has_cluster_series == (index == 0), (index, sorted(names))

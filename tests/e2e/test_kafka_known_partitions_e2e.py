"""Series only for topics and partitions the metadata has and the topics filter selects, for every
group type (issue 25):

- a real share group on Kafka 4.4 (two KafkaShareConsumers) seen by two collectors, one of which
  excludes its topic: that one has the group's members and state but no lag or start offset;
- offsets of partitions the metadata does not have (Kafka refuses to commit them, so the hostile
  test server's `unknown_partitions` case answers them): a consumer group's commit on t-99 and a
  share group's t-77 give no series and are not added into the sums.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.exporter_process import ExporterProcess, select, value, wait_for
from tests.support.group_clients import ShareMembers, share_group_offsets
from tests.support.hostile_kafka import (
    COMMITTED,
    GROUPS,
    SHARE_GROUP,
    SHARE_OFFSETS,
    TOPIC,
    HostileKafka,
)
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import create_topics, produce, unique
from tests.support.kafka_jars import KAFKA_4

UP = "kafka_health_exporter_collector_up"


async def test_share_group_series_follow_the_topics_filter(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    bootstrap = kafka4.bootstrap
    prefix = unique("sharefilter")
    topic, group = f"{prefix}-t", f"{prefix}-sg"
    await create_topics(bootstrap, {topic: 2})
    await produce(bootstrap, topic, {0: 5, 1: 5}, batch=True)
    config = f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: all
    type: kafka
    bootstrap_servers: "{bootstrap}"
    cluster: c-all
    groups: {{include: ["{prefix}.*"]}}
    topics: {{include: ["{prefix}.*"]}}
  - name: excluding
    type: kafka
    bootstrap_servers: "{bootstrap}"
    cluster: c-excluding
    groups: {{include: ["{prefix}.*"]}}
    topics: {{include: ["{prefix}.*"], exclude: ["{topic}"]}}
"""
    with (
        ShareMembers(KAFKA_4, bootstrap, group, topic, 2, tmp_path, ack=3),
        ExporterProcess(config, tmp_path) as exporter,
    ):
        offsets = share_group_offsets(KAFKA_4, bootstrap, group)
        assert set(offsets) == {(topic, 0), (topic, 1)}
        lag = sum(o["lag"] or 0 for o in offsets.values())
        assert lag == 10 - 3
        exporter.wait_ready()

        def both() -> bool:
            m = exporter.metrics()
            return (
                value(m, "kafka_sharegroup_lag_sum", cluster="c-all", sharegroup=group) == lag
                and value(m, "kafka_sharegroup_members", cluster="c-excluding", sharegroup=group)
                == 2
            )

        await asyncio.to_thread(
            wait_for, both, 30, 0.3, f"both collectors' share series; log {exporter.log()[-2000:]}"
        )
        m = exporter.metrics()
        for family in ("lag", "lag_sum", "start_offset"):
            name = f"kafka_sharegroup_{family}"
            assert select(m, name, cluster="c-excluding") == {}, (name, m)
            assert select(m, name, cluster="c-all", topic=topic), (name, m)
        assert value(m, UP, collector="excluding", type="kafka") == 1


async def test_offsets_of_partitions_the_metadata_lacks_give_no_series(tmp_path: Path) -> None:
    with HostileKafka("unknown_partitions", lifetime=90) as hostile:
        config = f"""
defaults: {{interval: 1s, timeout: 900ms}}
collectors:
  - name: odd
    type: kafka
    bootstrap_servers: "{hostile.bootstrap}"
    cluster: c-odd
"""
        with ExporterProcess(config, tmp_path) as exporter:
            exporter.wait_ready()
            want_sum = sum(
                lag for (t, p), (_, lag) in SHARE_OFFSETS.items() if t == TOPIC and p in COMMITTED
            )

            def reported() -> bool:
                m = exporter.metrics()
                return value(m, "kafka_sharegroup_members", sharegroup=SHARE_GROUP) == 1 and all(
                    value(m, "kafka_consumergroup_members", consumergroup=g) == 1 for g in GROUPS
                )

            await asyncio.to_thread(
                wait_for, reported, 20, 0.3, f"the groups' series; log {exporter.log()[-2000:]}"
            )
            m = exporter.metrics()
            for g in GROUPS:
                c = {"cluster": "c-odd", "consumergroup": g}
                offsets = {
                    (dict(lbl)["topic"], dict(lbl)["partition"]): v
                    for lbl, v in select(m, "kafka_consumergroup_current_offset", **c).items()
                }
                assert offsets == {(TOPIC, str(p)): o for p, o in COMMITTED.items()}, offsets
                sums = select(m, "kafka_consumergroup_current_offset_sum", **c)
                assert list(sums.values()) == [sum(COMMITTED.values())], sums
                assert len(select(m, "kafka_consumergroup_lag", **c)) == len(COMMITTED)
            s = {"cluster": "c-odd", "sharegroup": SHARE_GROUP}
            for name in ("kafka_sharegroup_lag", "kafka_sharegroup_start_offset"):
                found = {
                    (dict(lbl)["topic"], dict(lbl)["partition"]) for lbl in select(m, name, **s)
                }
                assert found == {(TOPIC, str(p)) for p in COMMITTED}, (name, found)
            sums = select(m, "kafka_sharegroup_lag_sum", **s)
            assert list(sums.values()) == [want_sum], sums
            assert value(m, UP, collector="odd", type="kafka") == 1
            assert "MalformedResponse" not in exporter.log()

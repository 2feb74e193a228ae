"""End to end through the CLI with real clients of every Kafka 4 group type (tests/support/groups,
the Streams app): KIP-848 consumer groups, classic groups, share groups (KIP-932) and streams
groups (KIP-1071) on Kafka 4.4; a classic group on Kafka 3.9 and on Tansu; exact values.

`test_clients_and_broker_features` checks the test bed itself through the Java Admin client (the
broker's finalized features, the members' groups as the broker describes them), independent of
the exporter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from exporter.cli.demo.broker import TansuBroker
from tests.support.exporter_process import ExporterProcess, Samples, select, value, wait_for
from tests.support.group_clients import (
    JavaGroupMembers,
    ShareMembers,
    describe_group,
    finalized_features,
    list_groups,
    share_group_offsets,
)
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.support.kafka_jars import KAFKA_4
from tests.support.streams_app import StreamsApp

Series = tuple[str, frozenset[tuple[str, str]]]
UP = "kafka_health_exporter_collector_up"


def _collector(name: str, bootstrap: str, prefix: str, exclude: str = "") -> str:
    excluded = f', exclude: ["{exclude}"]' if exclude else ""
    groups = f'{{include: ["{prefix}.*"]{excluded}}}'
    return f"""
  - name: {name}
    type: kafka
    bootstrap_servers: "{bootstrap}"
    cluster: c-{name}
    groups: {groups}
    topics: {{include: ["{prefix}.*"]}}
"""


def _config(*collectors: str) -> str:
    return "defaults: {interval: 1s, timeout: 900ms}\ncollectors:" + "".join(collectors)


@contextlib.contextmanager
def _exporter(config: str, tmp_path: Path) -> Iterator[ExporterProcess]:
    """An ExporterProcess that is stopped and reaped even when its start fails."""
    exporter = ExporterProcess(config, tmp_path)
    try:
        yield exporter.__enter__()
    finally:
        if exporter.process is not None:
            exporter.stop()


def s(name: str, **labels: str) -> Series:
    """One series: its name and (a subset of) its labels."""
    return name, frozenset(labels.items())


async def _reaches(
    exporter: ExporterProcess, want: dict[Series, float | None], timeout: float = 30.0
) -> Samples:
    """Wait until every series in `want` has exactly its value (None: no such series); the
    scrape that matched."""
    seen: dict[Series, float | None] = {}
    states: dict[str, list[str]] = {}

    def check() -> Samples | None:
        m = exporter.metrics()
        seen.clear()
        seen.update({key: value(m, key[0], **dict(key[1])) for key in want})
        states.clear()
        for name, labels in want:
            if name.endswith("_state"):  # which state is current instead
                group = {k: v for k, v in labels if k != "state"}
                current = [dict(lbl)["state"] for lbl, v in select(m, name, **group).items() if v]
                states[f"{name}{group}"] = current
        return m if seen == want else None

    try:
        matched = await asyncio.to_thread(wait_for, check, timeout, 0.3, "the group's series")
    except AssertionError as exc:
        diff = {k: (want[k], seen.get(k)) for k in want if seen.get(k) != want[k]}
        raise AssertionError(
            f"{exc}; (want, seen): {diff}; current states: {states}; log: {exporter.log()[-3000:]}"
        ) from None
    assert matched is not None
    return matched


def _only_state(m: Samples, family: str, current: str, **labels: str) -> None:
    """The state set has exactly one current state: `current`."""
    states = {dict(lbl)["state"]: v for lbl, v in select(m, family, **labels).items()}
    assert states.get(current) == 1, states
    assert sum(states.values()) == 1, states


def _group_series(
    cluster: str, group: str, topic: str, ends: dict[int, int], committed: int, members: int
) -> dict[Series, float | None]:
    """Exact consumer-group series of a group that committed `committed` on every partition."""
    c = {"cluster": cluster, "consumergroup": group}
    want: dict[Series, float | None] = {s("kafka_consumergroup_members", **c): members}
    for partition, end in ends.items():
        p = {"topic": topic, "partition": str(partition), **c}
        want[s("kafka_consumergroup_current_offset", **p)] = committed
        want[s("kafka_consumergroup_lag", **p)] = end - committed
    want[s("kafka_consumergroup_lag_sum", topic=topic, **c)] = sum(
        end - committed for end in ends.values()
    )
    return want


def _info(cluster: str, group: str, kind: str, protocol_type: str) -> dict[Series, float | None]:
    labels = {"type": kind, "protocol_type": protocol_type}
    return {s("kafka_consumergroup_info", cluster=cluster, consumergroup=group, **labels): 1}


def _state(cluster: str, group: str, state: str) -> dict[Series, float | None]:
    return {s("kafka_consumergroup_state", cluster=cluster, consumergroup=group, state=state): 1}


def _no_share_series(m: Samples, cluster: str) -> None:
    found = [
        n for (n, lbl) in m if n.startswith("kafka_sharegroup_") and ("cluster", cluster) in lbl
    ]
    assert found == [], found


def _known_lags(offsets: dict) -> dict | None:
    """`offsets` when every partition's lag is known, else None (ask again)."""
    return offsets if all(o["lag"] is not None for o in offsets.values()) else None


async def test_clients_and_broker_features(kafka4: KafkaCluster, tmp_path: Path) -> None:
    """The test bed without the exporter: the 4.4 broker finalizes share and streams groups; three
    KIP-848 members are Stable with one partition each and leave to Empty; share members accept
    exactly their records (the broker's lag says so)."""
    bootstrap = kafka4.bootstrap
    features = finalized_features(KAFKA_4, bootstrap)
    assert features["share.version"] == 2, features  # share groups (1) with DLQs (2)
    assert features["streams.version"] == 1, features
    assert features["group.version"] == 1, features  # KIP-848

    prefix = unique("bed")
    topic, share_topic = f"{prefix}-t", f"{prefix}-share"
    group, share_group = f"{prefix}-g", f"{prefix}-sg"
    await create_topics(bootstrap, {topic: 3, share_topic: 2})
    await produce(bootstrap, share_topic, {0: 4, 1: 4})
    with JavaGroupMembers(
        KAFKA_4, bootstrap, "consumer", group, topic, 3, tmp_path, commit_at=0
    ) as members:
        described = describe_group(KAFKA_4, bootstrap, group, "consumer")
        assert (described["type"], described["state"], described["members"]) == (
            "consumer", "Stable", 3,
        )  # fmt: skip
        assignments = sorted(p for parts in described["assignments"].values() for p in parts)
        assert assignments == [f"{topic}:0", f"{topic}:1", f"{topic}:2"]
        assert all(len(parts) == 1 for parts in described["assignments"].values())
        assert members.leave() == 0
    described = describe_group(KAFKA_4, bootstrap, group, "consumer")
    assert (described["state"], described["members"]) == ("Empty", 0)

    with ShareMembers(KAFKA_4, bootstrap, share_group, share_topic, 2, tmp_path, ack=3):
        described = describe_group(KAFKA_4, bootstrap, share_group, "share")
        assert (described["type"], described["state"], described["members"]) == (
            "share", "Stable", 2,
        )  # fmt: skip
        # a partition's lag is unknown (null) until the broker has its share state: wait for
        # both to be known instead of counting an unknown one as 0
        offsets = wait_for(
            lambda: _known_lags(share_group_offsets(KAFKA_4, bootstrap, share_group)),
            30,
            what="both share partitions' lag",
        )
        assert set(offsets) == {(share_topic, 0), (share_topic, 1)}
        assert sum(o["lag"] for o in offsets.values()) == 8 - 3
        assert list_groups(KAFKA_4, bootstrap)[share_group]["type"] == "share"


async def test_kip848_group_members_state_lag_and_leave(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    """(a) Three KIP-848 members: real member count, Stable, type consumer, exact lag; after they
    leave: Empty with no members, the committed offsets' lag unchanged."""
    bootstrap, cluster = kafka4.bootstrap, "c-k848"
    prefix = unique("k848")
    topic, group = f"{prefix}-t", f"{prefix}-g"
    ends = {0: 5, 1: 6, 2: 7}
    await create_topics(bootstrap, {topic: 3})
    await produce(bootstrap, topic, ends, batch=True)
    config = _config(_collector("k848", bootstrap, prefix))
    with (
        JavaGroupMembers(KAFKA_4, bootstrap, "consumer", group, topic, 3, tmp_path, commit_at=2)
        as members,
        _exporter(config, tmp_path) as exporter,
    ):  # fmt: skip
        exporter.wait_ready()
        live = _group_series(cluster, group, topic, ends, committed=2, members=3)
        m = await _reaches(
            exporter,
            {
                **live,
                **_state(cluster, group, "Stable"),
                **_info(cluster, group, "consumer", "consumer"),
            },
        )
        _only_state(m, "kafka_consumergroup_state", "Stable", cluster=cluster, consumergroup=group)
        assert len(select(m, "kafka_consumergroup_info", cluster=cluster, consumergroup=group)) == 1
        assert value(m, UP, collector="k848", type="kafka") == 1

        assert members.leave() == 0
        gone = _group_series(cluster, group, topic, ends, committed=2, members=0)
        m = await _reaches(
            exporter,
            {
                **gone,
                **_state(cluster, group, "Empty"),
                **_info(cluster, group, "consumer", "consumer"),
            },
        )
        _only_state(m, "kafka_consumergroup_state", "Empty", cluster=cluster, consumergroup=group)


async def test_classic_and_kip848_groups_side_by_side(kafka4: KafkaCluster, tmp_path: Path) -> None:
    """(b) A classic group of three and a KIP-848 group of two on one topic of one 4.4 broker:
    each with its own type, state, member count and exact lag."""
    bootstrap, cluster = kafka4.bootstrap, "c-mixed"
    prefix = unique("mixed")
    topic, classic, consumer = f"{prefix}-t", f"{prefix}-classic", f"{prefix}-consumer"
    ends = {0: 4, 1: 5, 2: 6}
    await create_topics(bootstrap, {topic: 3})
    await produce(bootstrap, topic, ends, batch=True)
    config = _config(_collector("mixed", bootstrap, prefix))
    with (
        JavaGroupMembers(KAFKA_4, bootstrap, "classic", classic, topic, 3, tmp_path, commit_at=1),
        JavaGroupMembers(KAFKA_4, bootstrap, "consumer", consumer, topic, 2, tmp_path, commit_at=3),
        _exporter(config, tmp_path) as exporter,
    ):  # fmt: skip
        types = list_groups(KAFKA_4, bootstrap)
        assert (types[classic]["type"], types[consumer]["type"]) == ("classic", "consumer")
        exporter.wait_ready()
        m = await _reaches(
            exporter,
            {
                **_group_series(cluster, classic, topic, ends, committed=1, members=3),
                **_state(cluster, classic, "Stable"),
                **_info(cluster, classic, "classic", "consumer"),
                **_group_series(cluster, consumer, topic, ends, committed=3, members=2),
                **_state(cluster, consumer, "Stable"),
                **_info(cluster, consumer, "consumer", "consumer"),
            },
        )
        for group in (classic, consumer):
            _only_state(
                m, "kafka_consumergroup_state", "Stable", cluster=cluster, consumergroup=group
            )
            assert len(select(m, "kafka_consumergroup_info", consumergroup=group)) == 1


def _share_series(
    cluster: str, group: str, offsets: dict[tuple[str, int], dict[str, int | None]], members: int
) -> dict[Series, float | None]:
    """The share group's series as the Admin client's listShareGroupOffsets reads the broker."""
    c = {"cluster": cluster, "sharegroup": group}
    want: dict[Series, float | None] = {s("kafka_sharegroup_members", **c): members}
    sums: dict[str, float] = {}
    for (topic, partition), offset in offsets.items():
        p = {"topic": topic, "partition": str(partition), **c}
        want[s("kafka_sharegroup_start_offset", **p)] = offset["start_offset"]
        want[s("kafka_sharegroup_lag", **p)] = offset["lag"]  # None (unknown, -1): no series
        if offset["lag"] is not None:
            sums[topic] = sums.get(topic, 0) + offset["lag"]
    for topic, total in sums.items():
        want[s("kafka_sharegroup_lag_sum", topic=topic, **c)] = total
    return want


async def test_share_group_lag_start_offset_members_state_and_filter(
    kafka4: KafkaCluster, tmp_path: Path
) -> None:
    """(c) Two KafkaShareConsumers accept 3 of 10 records: lag and start offset exactly as the
    Admin client's listShareGroupOffsets reads them, two members, Stable; a collector whose groups
    filter excludes the group has no share series; after the members leave: Empty, none."""
    bootstrap, cluster = kafka4.bootstrap, "c-share"
    prefix = unique("share")
    topic, group = f"{prefix}-t", f"{prefix}-sg"
    await create_topics(bootstrap, {topic: 2})
    await produce(bootstrap, topic, {0: 5, 1: 5}, batch=True)
    config = _config(
        _collector("share", bootstrap, prefix), _collector("sharex", bootstrap, prefix, group)
    )
    with (
        ShareMembers(KAFKA_4, bootstrap, group, topic, 2, tmp_path, ack=3) as share,
        _exporter(config, tmp_path) as exporter,
    ):  # fmt: skip
        offsets = share_group_offsets(KAFKA_4, bootstrap, group)
        assert set(offsets) == {(topic, 0), (topic, 1)}
        assert sum(o["lag"] or 0 for o in offsets.values()) == 10 - 3
        state = {s("kafka_sharegroup_state", cluster=cluster, sharegroup=group, state="Stable"): 1}
        exporter.wait_ready()
        m = await _reaches(exporter, {**_share_series(cluster, group, offsets, 2), **state})
        _only_state(m, "kafka_sharegroup_state", "Stable", cluster=cluster, sharegroup=group)
        assert share_group_offsets(KAFKA_4, bootstrap, group) == offsets  # nothing moved since
        assert select(m, "kafka_consumergroup_lag", consumergroup=group) == {}
        _no_share_series(m, "c-sharex")
        assert value(m, UP, collector="sharex", type="kafka") == 1
        assert value(m, UP, collector="share", type="kafka") == 1

        assert share.leave() == 0
        offsets = share_group_offsets(KAFKA_4, bootstrap, group)
        empty = {s("kafka_sharegroup_state", cluster=cluster, sharegroup=group, state="Empty"): 1}
        m = await _reaches(exporter, {**_share_series(cluster, group, offsets, 0), **empty})
        _only_state(m, "kafka_sharegroup_state", "Empty", cluster=cluster, sharegroup=group)
        _no_share_series(m, "c-sharex")


async def test_streams_group(kafka4: KafkaCluster, tmp_path: Path) -> None:
    """(d) A real Kafka Streams app with group.protocol=streams (two stream threads, two members):
    type streams, Stable, two members, its input's committed offsets and lag exact; closed: Empty."""
    bootstrap, cluster = kafka4.bootstrap, "c-streams"
    prefix = unique("kstreams")
    source, sink, app_id = f"{prefix}-in", f"{prefix}-out", f"{prefix}-app"
    ends = {0: 3, 1: 4}
    await create_topics(bootstrap, {source: 2, sink: 1})
    await produce(bootstrap, source, ends)
    config = _config(_collector("streams", bootstrap, prefix))
    app = StreamsApp(
        KAFKA_4, bootstrap, app_id, (source, sink), tmp_path / "app", threads=2,
        group_protocol="streams",
    )  # fmt: skip
    try:
        await asyncio.to_thread(app.start)  # its JMX check runs a loop of its own
        with _exporter(config, tmp_path) as exporter:
            app.wait_state("RUNNING", 60)
            exporter.wait_ready()
            c = {"cluster": cluster, "consumergroup": app_id}

            def committed(members: int) -> dict[Series, float | None]:
                want: dict[Series, float | None] = {s("kafka_consumergroup_members", **c): members}
                for partition, end in ends.items():
                    p = {"topic": source, "partition": str(partition), **c}
                    want[s("kafka_consumergroup_current_offset", **p)] = end
                    want[s("kafka_consumergroup_lag", **p)] = 0
                want[s("kafka_consumergroup_lag_sum", topic=source, **c)] = 0
                return want

            info = _info(cluster, app_id, "streams", "streams")
            m = await _reaches(
                exporter, {**committed(2), **_state(cluster, app_id, "Stable"), **info}, 45
            )
            _only_state(m, "kafka_consumergroup_state", "Stable", **c)
            described = describe_group(KAFKA_4, bootstrap, app_id, "streams")
            assert (described["state"], described["members"]) == ("Stable", 2)
            assert select(m, "kafka_consumergroup_lag", topic=sink) == {}  # it only writes there

            app.close_streams()
            m = await _reaches(
                exporter, {**committed(0), **_state(cluster, app_id, "Empty"), **info}
            )
            _only_state(m, "kafka_consumergroup_state", "Empty", **c)
    finally:
        app.stop()


async def test_kafka3_classic_group(kafka3: KafkaCluster, tmp_path: Path) -> None:
    """(e) Kafka 3.9: a classic group of three Java members right; 3.9 answers ListGroups v5 with
    the group's type (added by KIP-848 in 3.8), so its info says classic; no share series (no
    share groups in 3.9); the collector up."""
    bootstrap, cluster = kafka3.bootstrap, "c-k3"
    prefix = unique("k3groups")
    topic, group = f"{prefix}-t", f"{prefix}-g"
    ends = {0: 2, 1: 3, 2: 4}
    await create_topics(bootstrap, {topic: 3})
    await produce(bootstrap, topic, ends, batch=True)
    config = _config(_collector("k3", bootstrap, prefix))
    with (
        JavaGroupMembers(KAFKA_4, bootstrap, "classic", group, topic, 3, tmp_path, commit_at=1),
        _exporter(config, tmp_path) as exporter,
    ):  # fmt: skip
        assert list_groups(KAFKA_4, bootstrap)[group]["type"] == "classic"
        exporter.wait_ready()
        m = await _reaches(
            exporter,
            {
                **_group_series(cluster, group, topic, ends, committed=1, members=3),
                **_state(cluster, group, "Stable"),
                **_info(cluster, group, "classic", "consumer"),
            },
        )
        _only_state(m, "kafka_consumergroup_state", "Stable", cluster=cluster, consumergroup=group)
        _no_share_series(m, cluster)
        assert value(m, UP, collector="k3", type="kafka") == 1
        _says_once_what_is_off(exporter)


def _says_once_what_is_off(exporter: ExporterProcess) -> None:
    """One log line (one connection) names the group APIs the brokers lack and what is off."""
    off = [line for line in exporter.log().splitlines() if "the brokers do not offer" in line]
    assert len(off) == 1, off
    assert "streams groups (StreamsGroupDescribe, KIP-1071)" in off[0], off
    assert "share groups (ShareGroupDescribe v1, KIP-932)" in off[0], off


@contextlib.asynccontextmanager
async def _aiokafka_member(
    bootstrap: str, group: str, topic: str, partitions: int, commit_at: int, timeout: float = 45.0
) -> AsyncIterator[AIOKafkaConsumer]:
    """One aiokafka member (classic protocol) that joined `group`, got every partition of
    `topic`, committed `commit_at` on each and paused them; stopped (leaving) on exit."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(consumer.assignment()) < partitions:
            assert loop.time() < deadline, f"{group} not assigned in {timeout}s"
            await consumer.getmany(timeout_ms=200)
        consumer.pause(*consumer.assignment())
        while True:
            try:
                await consumer.commit({tp: commit_at for tp in consumer.assignment()})
                break
            except KafkaError:  # a rebalance in between
                assert loop.time() < deadline, f"{group} could not commit in {timeout}s"
                await asyncio.sleep(0.2)
        yield consumer
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def _exporter_in_thread(config: str, tmp_path: Path) -> AsyncIterator[ExporterProcess]:
    """An ExporterProcess started and stopped in threads: the loop keeps serving the aiokafka
    member's heartbeats meanwhile."""
    exporter = ExporterProcess(config, tmp_path)
    try:
        await asyncio.to_thread(exporter.__enter__)
        yield exporter
    finally:
        if exporter.process is not None:
            await asyncio.to_thread(exporter.stop)


async def test_tansu_classic_group(tansu: TansuBroker, tmp_path: Path) -> None:
    """(f) Tansu: a classic group of one aiokafka member (Tansu answers ListGroups v5 with type
    classic) right; no share series; the collector up."""
    bootstrap, cluster = tansu.bootstrap, "c-tansu"
    prefix = unique("tgroups")
    topic, group = f"{prefix}-t", f"{prefix}-g"
    ends = {0: 3, 1: 2}
    await create_topics(bootstrap, {topic: 2})
    await produce(bootstrap, topic, ends)  # one record per request: exact offsets on Tansu
    config = _config(_collector("tansu", bootstrap, prefix))
    async with (
        _aiokafka_member(bootstrap, group, topic, 2, commit_at=1),
        _exporter_in_thread(config, tmp_path) as exporter,
    ):
        await asyncio.to_thread(exporter.wait_ready)
        m = await _reaches(
            exporter,
            {
                **_group_series(cluster, group, topic, ends, committed=1, members=1),
                **_state(cluster, group, "Stable"),
                **_info(cluster, group, "classic", "consumer"),
            },
        )
        _only_state(m, "kafka_consumergroup_state", "Stable", cluster=cluster, consumergroup=group)
        _no_share_series(m, cluster)
        assert value(m, UP, collector="tansu", type="kafka") == 1
        _says_once_what_is_off(exporter)


async def test_kafka4_without_share_groups(tmp_path: Path) -> None:
    """A 4.4 cluster formatted with share.version=0 (share groups off): a group's committed
    offsets and lag exact, no share series, the collector up."""
    with KafkaCluster(version=KAFKA_4, features={"share.version": 0}) as cluster_:
        bootstrap, cluster = cluster_.bootstrap, "c-noshare"
        assert finalized_features(KAFKA_4, bootstrap).get("share.version", 0) == 0
        prefix = unique("noshare")
        topic, group = f"{prefix}-t", f"{prefix}-g"
        await create_topics(bootstrap, {topic: 1})
        await produce(bootstrap, topic, {0: 4})
        await commit(bootstrap, group, {(topic, 0): 1})
        config = _config(_collector("noshare", bootstrap, prefix))
        with _exporter(config, tmp_path) as exporter:
            exporter.wait_ready()
            m = await _reaches(
                exporter, _group_series(cluster, group, topic, {0: 4}, committed=1, members=0)
            )
            _no_share_series(m, cluster)
            assert value(m, UP, collector="noshare", type="kafka") == 1

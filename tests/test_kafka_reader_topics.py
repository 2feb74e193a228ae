"""Explicit OffsetFetch (Tansu refuses the null topic list): a known group is asked only for the
topics it has commits on, with a full rescan every RESCAN_EVERY reads or when topics change."""

from __future__ import annotations

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.reader import RESCAN_EVERY, ClusterReader
from exporter.demo.broker import TansuBroker
from tests.kafka_helpers import commit, create_topics, unique


def _reader(bootstrap: str, prefix: str) -> ClusterReader:
    config = KafkaConfig(
        name="t",
        type="kafka",
        bootstrap_servers=[bootstrap],
        interval=30,
        timeout=10,
        groups={"include": [f"{prefix}.*"]},
        topics={"include": [f"{prefix}.*"]},
    )
    return ClusterReader(config)


async def test_known_groups_are_asked_for_their_topics_and_rescanned(broker: TansuBroker) -> None:
    prefix = unique("memo")
    a, b, c = f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"
    group = f"{prefix}-g"
    await create_topics(broker.bootstrap, {a: 2, b: 2})
    await commit(broker.bootstrap, group, {(a, 0): 1})
    reader = _reader(broker.bootstrap, prefix)
    try:
        state = await reader.read()  # first read: everything is asked
        assert state.groups[group].offsets == {(a, 0): 1}

        await commit(broker.bootstrap, group, {(b, 1): 1})
        state = await reader.read()  # known group, same topics: asked for `a` only
        assert state.groups[group].offsets == {(a, 0): 1}

        newcomer = f"{prefix}-new"
        await commit(broker.bootstrap, newcomer, {(b, 0): 1})
        state = await reader.read()  # a new group is asked for everything at once
        assert state.groups[newcomer].offsets == {(b, 0): 1}
        assert state.groups[group].offsets == {(a, 0): 1}

        for _ in range(RESCAN_EVERY - 3):
            state = await reader.read()
        assert state.groups[group].offsets == {(a, 0): 1}  # read number RESCAN_EVERY
        state = await reader.read()  # the periodic rescan finds the commit on `b`
        assert state.groups[group].offsets == {(a, 0): 1, (b, 1): 1}

        await create_topics(broker.bootstrap, {c: 1})
        await commit(broker.bootstrap, group, {(c, 0): 1})
        state = await reader.read()  # a topic appeared: everything is asked again
        assert state.groups[group].offsets == {(a, 0): 1, (b, 1): 1, (c, 0): 1}
    finally:
        await reader.close()

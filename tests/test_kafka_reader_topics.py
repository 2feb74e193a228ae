"""Explicit OffsetFetch (Tansu refuses the null topic list): a known group is asked only for the
topics it has commits on; groups take turns at a full rescan, one in RESCAN_EVERY reads each."""

from __future__ import annotations

import zlib

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
    turn = zlib.crc32(group.encode()) % RESCAN_EVERY  # reads k with k % RESCAN_EVERY == turn
    await create_topics(broker.bootstrap, {a: 2, b: 2})
    await commit(broker.bootstrap, group, {(a, 0): 1})
    reader = _reader(broker.bootstrap, prefix)
    try:
        state = await reader.read()  # read 0: every group is new, everything is asked
        assert state.groups[group].offsets == {(a, 0): 1}
        reads = 1

        await commit(broker.bootstrap, group, {(b, 1): 1})
        newcomer = f"{prefix}-new"
        await commit(broker.bootstrap, newcomer, {(b, 0): 1})

        async def until_turn(before: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
            """Read until `group`'s rescan; before it, only its known topics are asked."""
            nonlocal reads
            for _ in range(RESCAN_EVERY):
                state = await reader.read()
                due, reads = reads % RESCAN_EVERY == turn, reads + 1
                assert state.groups[newcomer].offsets == {(b, 0): 1}  # new: asked for all
                if due:
                    return state.groups[group].offsets
                assert state.groups[group].offsets == before
            raise AssertionError("no rescan within RESCAN_EVERY reads")

        assert await until_turn({(a, 0): 1}) == {(a, 0): 1, (b, 1): 1}
        await create_topics(broker.bootstrap, {c: 1})
        await commit(broker.bootstrap, group, {(c, 0): 1})
        before = {(a, 0): 1, (b, 1): 1}
        assert await until_turn(before) == {**before, (c, 0): 1}
    finally:
        await reader.close()

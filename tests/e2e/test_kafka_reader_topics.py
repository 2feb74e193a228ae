"""Explicit OffsetFetch (Tansu refuses the null topic list before OffsetFetch v8; the reader is
made to see a broker without v8): a known group is asked only for the topics it has commits on;
groups take turns at a full rescan, one in RESCAN_EVERY reads each."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
import zlib
from typing import Any

from exporter.cli.demo.broker import TansuBroker
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.committed_offsets import RESCAN_EVERY
from exporter.collectors.kafka.read.reader import ClusterReader
from tests.support.kafka_helpers import commit, create_topics, unique
from tests.support.unbatched_reads import one_group_per_fetch


def _reader(bootstrap: str, prefix: str, **options: Any) -> ClusterReader:
    config = KafkaConfig(
        name="t",
        type="kafka",
        bootstrap_servers=[bootstrap],
        interval=30,
        timeout=10,
        groups={"include": [f"{prefix}.*"]},
        topics={"include": [f"{prefix}.*"]},
        **options,
    )
    return one_group_per_fetch(ClusterReader(config))


async def test_known_groups_are_asked_for_their_topics_and_rescanned(tansu: TansuBroker) -> None:
    prefix = unique("memo")
    a, b, c = f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"
    group = f"{prefix}-g"
    turn = zlib.crc32(group.encode()) % RESCAN_EVERY  # reads k with k % RESCAN_EVERY == turn
    await create_topics(tansu.bootstrap, {a: 2, b: 2})
    await commit(tansu.bootstrap, group, {(a, 0): 1})
    reader = _reader(tansu.bootstrap, prefix)
    try:
        state = await reader.read()  # read 0: every group is new, everything is asked
        assert state.groups[group].offsets == {(a, 0): 1}
        reads = 1

        await commit(tansu.bootstrap, group, {(b, 1): 1})
        newcomer = f"{prefix}-new"
        await commit(tansu.bootstrap, newcomer, {(b, 0): 1})

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
        await create_topics(tansu.bootstrap, {c: 1})
        await commit(tansu.bootstrap, group, {(c, 0): 1})
        before = {(a, 0): 1, (b, 1): 1}
        assert await until_turn(before) == {**before, (c, 0): 1}
    finally:
        await reader.close()


async def test_a_read_cut_short_still_teaches_the_groups_topics(tansu: TansuBroker) -> None:
    """A first read that is cancelled (as a timeout does) keeps what the groups answered so far:
    the next read asks those groups only for their topics, so an oversized first read converges."""
    prefix = unique("cut")
    a, b = f"{prefix}-a", f"{prefix}-b"
    await create_topics(tansu.bootstrap, {a: 1, b: 1})
    groups = [f"{prefix}-g{i:02d}" for i in range(40)]
    for group in groups:
        await commit(tansu.bootstrap, group, {(a, 0): 1})
    reader = _reader(tansu.bootstrap, prefix, max_concurrency=1)
    try:
        read = asyncio.create_task(reader.read())
        deadline = asyncio.get_running_loop().time() + 10
        while len(reader._group_topics) < 3 and not read.done():
            assert asyncio.get_running_loop().time() < deadline, "no group answered in 10 s"
            await asyncio.sleep(0.002)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            read.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await read
            cancelled = read.cancelled()
            del read  # its traceback holds the frames of the requests not made
            for _ in range(5):
                await asyncio.sleep(0)  # the cancelled requests' tasks finish unwinding
            gc.collect()
        assert not [str(w.message) for w in caught if "never awaited" in str(w.message)]
        learnt = dict(reader._group_topics)
        assert cancelled and 3 <= len(learnt) < len(groups)
        assert set(learnt.values()) == {frozenset({a})}

        # A learnt group not due for its rescan on the next read is asked only for topic a: a
        # new commit on b stays unseen; a group not learnt yet is asked for everything.
        known = next(g for g in learnt if zlib.crc32(g.encode()) % RESCAN_EVERY != 0)
        unknown = next(g for g in groups if g not in learnt)
        await commit(tansu.bootstrap, known, {(b, 0): 5})
        await commit(tansu.bootstrap, unknown, {(b, 0): 5})
        state = await reader.read()
        assert state.groups[known].offsets == {(a, 0): 1}
        assert state.groups[unknown].offsets == {(a, 0): 1, (b, 0): 5}
        assert len(state.groups) == len(groups)
    finally:
        await reader.close()

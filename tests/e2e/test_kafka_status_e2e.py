"""Consumer status end to end with real consumers on Kafka 4.x, Kafka 3.9.x and Tansu: OK, WARN,
STALL, STOP, ERR and OK again.

A paced producer feeds one topic read by two groups:
- `member` joins the group (subscribe): caught up (OK), slower than the producer (WARN), paused
  while still a member (STALL), caught up again (OK).
- `assigned` commits without joining (assign(), as stream processors do), so the broker reports
  no members: caught up (OK), stops committing while records keep coming (STOP), has its offset
  rewound (ERR), restarts and catches up (OK).
Tansu keeps a stopped member in the group indefinitely, so a subscribed consumer cannot show the
members-gone side of STOP on every target; the assign()-mode group does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from tests.support.exporter_process import ExporterProcess, Samples, value, wait_for
from tests.support.kafka_cluster import Broker
from tests.support.kafka_helpers import commit, create_topics, unique

STATUSES = ("OK", "WARN", "STALL", "STOP", "ERR")
WATCHED = ("kafka_consumergroup_members", "kafka_consumergroup_lag")


def _config(bootstrap: str, topic: str, groups: str) -> str:
    return f"""
defaults: {{interval: 500ms, timeout: 450ms}}
collectors:
  - name: st
    type: kafka
    bootstrap_servers: "{bootstrap}"
    groups: {{include: ["{groups}.*"]}}
    topics: {{include: ["{topic}"]}}
    status: {{window: 4, partition_metrics: true}}
"""


class Producer:
    """One record per request, `per_second` a second, until stopped."""

    def __init__(self, bootstrap: str, topic: str, per_second: float) -> None:
        self.bootstrap, self.topic, self.per_second = bootstrap, topic, per_second
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0)
        await producer.start()
        try:
            while not self.stopping.is_set():
                await producer.send_and_wait(self.topic, b"x", partition=0)
                await asyncio.sleep(1 / self.per_second)
        finally:
            await producer.stop()


class Consumer:
    """Processes `per_second` records a second (0: paused), committing after each record.

    `join=True` subscribes (a group member); otherwise it assigns the partition and commits
    without joining the group.
    """

    def __init__(self, bootstrap: str, topic: str, group: str, join: bool) -> None:
        self.tp = TopicPartition(topic, 0)
        self.join = join
        self.per_second = 1000.0
        self.stopping = asyncio.Event()
        self.consumer = AIOKafkaConsumer(
            *([topic] if join else []),
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    async def run(self) -> None:
        await self.consumer.start()
        try:
            if not self.join:
                self.consumer.assign([self.tp])
            while not self.stopping.is_set():
                if self.per_second == 0:
                    await asyncio.sleep(0.05)
                    continue
                batch = await self.consumer.getmany(self.tp, timeout_ms=100, max_records=1)
                for record in batch.get(self.tp, []):
                    rate = self.per_second  # read once: the test may pause it (0) meanwhile
                    if rate == 0:
                        break
                    await asyncio.sleep(1 / rate)
                    await self.consumer.commit({self.tp: record.offset + 1})
        finally:
            await self.consumer.stop()


async def test_status_follows_the_consumers(any_broker: Broker, tmp_path: Path) -> None:
    broker = any_broker
    topic, groups = unique("status"), unique("g")
    member_group, assigned_group = f"{groups}-member", f"{groups}-assigned"
    await create_topics(broker.bootstrap, {topic: 1})
    producer = Producer(broker.bootstrap, topic, per_second=10)
    member = Consumer(broker.bootstrap, topic, member_group, join=True)
    assigned = Consumer(broker.bootstrap, topic, assigned_group, join=False)
    tasks = [asyncio.create_task(x.run()) for x in (producer, member, assigned)]

    with ExporterProcess(_config(broker.bootstrap, topic, groups), tmp_path) as exporter:

        async def reaches(group: str, status: str, timeout: float = 20.0, **also: float) -> None:
            """Wait until `group` reports `status` (and only it), and the `also` values."""
            c = {"cluster": "st", "consumergroup": group}
            seen: list[Any] = []

            def check() -> bool:
                failed = [t.exception() for t in tasks if t.done() and not t.cancelled()]
                assert not any(failed), failed
                m = exporter.metrics()
                now = {s: value(m, "kafka_consumergroup_status", status=s, **c) for s in STATUSES}
                seen[:] = [now, {n: value(m, n, **c) for n in (*also, *WATCHED)}]
                if now[status] != 1 or sum(v or 0 for v in now.values()) != 1:
                    return False
                part = value(
                    m, "kafka_consumergroup_partition_status", status=status, partition="0", **c
                )
                assert part == 1, "the only partition carries the group's status"
                return all(value(m, name, **c) == want for name, want in also.items())

            try:
                await asyncio.to_thread(wait_for, check, timeout, 0.2, f"{group} {status}")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; last seen {seen}") from None

        def state(m: Samples, group: str, name: str) -> float | None:
            return value(m, "kafka_consumergroup_state", consumergroup=group, state=name)

        try:
            exporter.wait_ready()
            # Both caught up: OK with full windows; the member's group is Stable with one member.
            await reaches(member_group, "OK", kafka_consumergroup_status_complete=1)
            await reaches(assigned_group, "OK", kafka_consumergroup_status_complete=1)
            await reaches(member_group, "OK", kafka_consumergroup_members=1)
            m = exporter.metrics()
            assert state(m, member_group, "Stable") == 1
            assert state(m, assigned_group, "Empty") == 1
            assert value(m, "kafka_consumergroup_members", consumergroup=assigned_group) == 0

            # The member slows below the producer's rate: offsets move, lag only grows: WARN.
            # The assigned consumer stops committing while records keep coming: STOP.
            member.per_second = 4
            assigned.stopping.set()
            await reaches(member_group, "WARN")
            await reaches(assigned_group, "STOP")

            # The member pauses but stays in the group: offset stuck with lag: STALL.
            # The assigned group's offset is rewound: ERR (Burrow's REWIND).
            member.per_second = 0
            await reaches(member_group, "STALL")
            m = exporter.metrics()
            committed = value(m, "kafka_consumergroup_current_offset", consumergroup=assigned_group)
            assert committed is not None and committed > 2
            await commit(broker.bootstrap, assigned_group, {(topic, 0): int(committed) - 2})
            await reaches(assigned_group, "ERR", timeout=5)  # until the rewind leaves the window

            # Both catch up: OK again, lag in seconds 0 at some refresh.
            member.per_second = 1000
            await tasks[2]
            restarted = Consumer(broker.bootstrap, topic, assigned_group, join=False)
            tasks[2] = asyncio.create_task(restarted.run())
            assigned = restarted
            await reaches(member_group, "OK")
            await reaches(assigned_group, "OK")
            producer.stopping.set()
            await tasks[0]
            await reaches(member_group, "OK", kafka_consumergroup_lag_seconds=0)
        finally:
            for x in (producer, member, assigned):
                x.stopping.set()
            await asyncio.gather(*tasks, return_exceptions=True)

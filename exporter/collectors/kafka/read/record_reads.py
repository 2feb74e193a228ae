"""Which records the collector reads for lag in seconds, and reading them without holding up a
refresh: `RecordReads`, one per collector.

Per refresh `plan()` picks the committed offsets whose record time is needed and not known:
with `auto`, those the watched high-watermark history cannot place (before its first point, or
no history yet); with `timestamp`, every lagging one. At most `reads_per_refresh` are read, the
oldest first (the largest estimated lag, partitions without any estimate before all). `run()`
starts the reads in a task and waits for them at most until the refresh's deadline; reads still
running then go on in the background and their answers are used by the next refresh, so the
other series of a refresh are never late because of them. Reads share one semaphore
(`max_concurrency`) and the collector's long-lived client.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from exporter.collectors.kafka.evaluate.lag_time import WatermarkLine
from exporter.collectors.kafka.history.history import History, RecordKey, committed_positions
from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.read.record_times import (
    ReadOutcome,
    RecordWanted,
    read_record_times,
)
from exporter.collectors.kafka.state import ClusterState

log = logging.getLogger(__name__)

DENIED_RETRY_S = 600.0
"""A partition the client may not read is tried again after this long."""


@dataclass
class Drained:
    """Answers collected since the last refresh, for `History.update()`."""

    times: dict[RecordKey, float] = field(default_factory=dict)
    capped: dict[RecordKey, int] = field(default_factory=dict)
    requests: int = 0


def _oldest_first(item: tuple[RecordKey, tuple[float, int, int, int]]) -> tuple[float, int]:
    """Rank of a candidate read: the largest estimated age first, then the largest lag."""
    _key, (age, lag, _read_from, _leader) = item
    return -age, -lag


class RecordReads:
    """Plans, runs and collects the reads of records at committed offsets for one collector."""

    def __init__(self, name: str, send: Send, concurrency: int, per_refresh: int) -> None:
        self._name = name
        self._send = send
        self._concurrency = concurrency
        self._per_refresh = per_refresh
        self._limit: asyncio.Semaphore | None = None
        self._in_flight: set[RecordKey] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._drained = Drained()
        self._denied: dict[tuple[str, int], float] = {}
        """(topic, partition) -> when a read of it was refused."""
        self._warned: set[tuple[str, int]] = set()
        self._clock: Callable[[], float] = time.monotonic

    def unreadable(self) -> set[tuple[str, int]]:
        """Partitions whose records the client may not read (the estimate is used there)."""
        return set(self._denied)

    def plan(self, state: ClusterState, history: History, method: str) -> list[RecordWanted]:
        """The reads of this refresh, oldest first, at most `per_refresh`."""
        now, wall = self._clock(), time.time()
        for partition, when in list(self._denied.items()):
            if now - when > DENIED_RETRY_S:
                del self._denied[partition]
        # key -> (estimated age, lag, offset to read from, leader); the reads are made only for
        # the chosen ones
        candidates: dict[RecordKey, tuple[float, int, int, int]] = {}
        lines: dict[tuple[str, int], WatermarkLine | None] = {}
        auto = method == "auto"
        # (topic, partition) -> its watermark table's first offset (-1 without a table)
        first_watched: dict[tuple[str, int], int] = {}
        for _group, topic, number, offset, lag in committed_positions(state):
            if lag == 0:
                continue
            first = first_watched.get((topic, number))
            if first is None:
                table = history.watermarks.get((topic, number))
                first = first_watched[(topic, number)] = -1 if table is None else table.first_offset
            if auto and 0 <= first <= offset:
                continue  # inside the watched history: interpolated (the usual case, tested first)
            key = (topic, number, offset)
            part = state.topics[topic][number]
            if key in candidates or key in self._in_flight or part.leader < 0:
                continue
            if (topic, number) in self._denied:
                continue
            if key in history.record_times:
                read_from = history.capped.get(key)
                if read_from is None or part.oldest is None or part.oldest <= read_from:
                    continue  # known, and not deleted since
            table = history.watermarks.get((topic, number))
            if (topic, number) not in lines:
                lines[(topic, number)] = (
                    None if table is None else WatermarkLine(table.points(), history.window)
                )
            line = lines[(topic, number)]
            estimate = None if line is None else line.lag_seconds(offset, wall)
            age = float("inf") if estimate is None else estimate
            candidates[key] = (age, lag, max(offset, part.oldest or 0), part.leader)
        # as sorted(...)[:per_refresh], stable too, without sorting every candidate
        ranked = heapq.nsmallest(self._per_refresh, candidates.items(), key=_oldest_first)
        return [
            RecordWanted(topic, number, read_from, leader)
            for (topic, number, _offset), (_age, _lag, read_from, leader) in ranked
        ]

    async def run(self, wanted: list[RecordWanted], offsets: dict[RecordWanted, int], wait: float):
        """Read `wanted` (committed offset of each in `offsets`), waiting at most `wait` s."""
        if not wanted:
            return
        if self._limit is None:
            self._limit = asyncio.Semaphore(self._concurrency)
        keys = {item: (item.topic, item.partition, offsets[item]) for item in wanted}
        self._in_flight.update(keys.values())
        outcome = ReadOutcome()
        task = asyncio.create_task(self._read(wanted, keys, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if wait <= 0:
            log.warning("%s: no time left this refresh to read record timestamps", self._name)
            return
        done, _ = await asyncio.wait({task}, timeout=wait)
        if not done:
            log.info(
                "%s: %d record timestamps not read within %.1fs; the next refresh uses them",
                self._name,
                len(wanted),
                wait,
            )

    async def _read(
        self, wanted: list[RecordWanted], keys: dict[RecordWanted, RecordKey], outcome: ReadOutcome
    ) -> None:
        assert self._limit is not None
        try:
            await read_record_times(self._send, wanted, self._limit, outcome)
        finally:
            self._collect(keys, outcome)

    def _collect(self, keys: dict[RecordWanted, RecordKey], outcome: ReadOutcome) -> None:
        drained = self._drained
        drained.requests += outcome.requests
        for item, found in outcome.found.items():
            key = keys[item]
            drained.times[key] = found.time
            if found.capped_at is not None or item.offset > key[2]:
                drained.capped[key] = found.capped_at or item.offset
        for item in outcome.denied:
            if (item.topic, item.partition) not in self._warned:
                self._warned.add((item.topic, item.partition))
                log.warning(
                    "%s: not allowed to read %s-%s (lag in seconds there is an estimate)",
                    self._name,
                    item.topic,
                    item.partition,
                )
            self._denied[(item.topic, item.partition)] = self._clock()
        self._in_flight.difference_update(keys.values())

    def drain(self) -> Drained:
        """Answers collected since the last call."""
        drained, self._drained = self._drained, Drained()
        return drained

    async def close(self) -> None:
        """Cancel reads still running."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._in_flight.clear()
